"""Send a project's runs to a team's tracker: today MLflow (``pip install 'bakeoff[mlflow]'``).

>>> from bakeoff.export import export_project
>>> export_project("offline-minilm", "http://127.0.0.1:5000").count("created")  # doctest: +SKIP
6
"""

from bakeoff.export.mlflow import ExportSummary, RunExport, export_project

__all__ = ["ExportSummary", "RunExport", "export_project"]
