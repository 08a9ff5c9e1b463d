"""Tiny random encoders of every architecture family bakeoff is kept working with, built from configs (offline).

Each is saved as a bare encoder (``<Family>Model``) with a word-level tokenizer over the sentiment words, so
``bakeoff`` adds the classification head as it does for a hub model. The tokenizer sends exactly the inputs the
family's own tokenizer sends (``token_type_ids`` or not), so a family's forward sees what it sees in the wild.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import FILLER, NEGATIVE, POSITIVE

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB = [*SPECIALS, *POSITIVE, *NEGATIVE, *FILLER, *"abcdefghijklmnopqrstuvwxyz", ".", ",", "!", "?", "'"]
PAD, CLS, SEP = 0, 2, 3
WIDTH = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
         "max_position_embeddings": 128}
IDS = {"pad_token_id": PAD, "bos_token_id": CLS, "eos_token_id": SEP}


def _configs() -> dict[str, tuple[str, dict[str, Any], bool]]:
    """family -> (transformers' config class, its tiny settings, whether its tokenizer sends token_type_ids)."""
    return {
        "bert": ("BertConfig", {**WIDTH, **IDS}, True),
        "roberta": ("RobertaConfig", {**WIDTH, **IDS, "max_position_embeddings": 130}, False),
        "xlm-roberta": ("XLMRobertaConfig", {**WIDTH, **IDS, "max_position_embeddings": 130}, False),
        "camembert": ("CamembertConfig", {**WIDTH, **IDS, "max_position_embeddings": 130}, False),
        "distilbert": ("DistilBertConfig", {"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 64,
                                            "max_position_embeddings": 128, "pad_token_id": PAD}, False),
        "deberta-v2": ("DebertaV2Config", {**WIDTH, **IDS, "relative_attention": True, "position_buckets": 16,
                                           "pos_att_type": ["p2c", "c2p"], "max_relative_positions": -1,
                                           "position_biased_input": False, "type_vocab_size": 0}, True),
        "electra": ("ElectraConfig", {**WIDTH, **IDS, "embedding_size": 16}, True),
        "mpnet": ("MPNetConfig", {**WIDTH, **IDS, "max_position_embeddings": 130}, False),
        "albert": ("AlbertConfig", {**WIDTH, **IDS, "embedding_size": 16}, True),
        "modernbert": ("ModernBertConfig", {**WIDTH, **IDS, "cls_token_id": CLS, "sep_token_id": SEP,
                                            "global_attn_every_n_layers": 2, "local_attention": 16}, False),
    }


FAMILIES = tuple(_configs())


def save_tiny_family(family: str, folder: Path, seed: int = 0) -> Path:
    """A 2-layer, 32-wide random ``family`` encoder and its tokenizer, saved into ``folder``."""
    import torch
    import transformers

    config_class, settings, token_types = _configs()[family]
    config = getattr(transformers, config_class)(vocab_size=len(VOCAB), **settings)
    torch.manual_seed(seed)
    transformers.AutoModel.from_config(config).save_pretrained(folder)
    tokenizer(token_types).save_pretrained(folder)
    return folder


def tokenizer(token_types: bool) -> Any:
    """A lower-casing word-level tokenizer: ``[CLS] a [SEP]`` / ``[CLS] a [SEP] b [SEP]``."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel({token: i for i, token in enumerate(VOCAB)}, unk_token="[UNK]"))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", CLS), ("[SEP]", SEP)])
    inputs = ["input_ids", "token_type_ids", "attention_mask"] if token_types else ["input_ids", "attention_mask"]
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                   model_input_names=inputs, model_max_length=128)
