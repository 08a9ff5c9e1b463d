"""Data: load (local files, $BAKEOFF_DATA_DIR, the hub) -> validate -> split -> tokenize -> length-grouped batches."""

from bakeoff.data.dataset import (
           TaskData,
           TextDataset,
           nested_fraction,
           stratified_split,
)
from bakeoff.data.load import DataOptions, load_task_data, local_files
from bakeoff.data.tables import DataError

__all__ = ["DataError", "DataOptions", "TaskData", "TextDataset", "load_task_data", "local_files",
           "nested_fraction", "stratified_split"]
