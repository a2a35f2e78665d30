"""Tiny random-weight GroundingDINO and SAM checkpoints on disk, for tests and smoke runs of `dino_sam`.

No weights can be downloaded on the machines f2p is built on, so the whole dino_sam path (boxes, masks,
back-projection, the node's image inputs) is exercised with these: a 0.16 M-parameter GroundingDINO and a
25 k-parameter SAM, saved with `save_pretrained` like the real checkpoints are. Their detections are noise:
they measure nothing, and nothing reports a figure from them.
"""

from __future__ import annotations

from pathlib import Path

#: the BERT vocabulary of the tiny GroundingDINO's text encoder
WORDS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "cup", "capsule", "table", "container", "cuboid")


def save_tiny_dino_sam(root: str | Path, seed: int = 0) -> dict[str, str]:
    """Write `root/dino` (with its vocab.txt) and `root/sam`; returns the backend parameters naming them
    (`dino_model`, `sam_model`). Needs transformers (pinned in requirements.txt)."""
    import torch
    import transformers as tf

    root = Path(root)
    torch.manual_seed(seed)
    backbone = tf.SwinConfig(image_size=64, patch_size=4, embed_dim=8, depths=[1, 1, 1, 1],
                             num_heads=[1, 1, 1, 1], window_size=4, out_features=["stage2", "stage3", "stage4"])
    text = tf.BertConfig(vocab_size=len(WORDS), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32, max_position_embeddings=64)
    dino = tf.GroundingDinoForObjectDetection(tf.GroundingDinoConfig(
        backbone_config=backbone, text_config=text, num_queries=12, encoder_layers=1, decoder_layers=2, d_model=32,
        encoder_ffn_dim=32, decoder_ffn_dim=32, encoder_attention_heads=2, decoder_attention_heads=2,
        encoder_n_points=2, decoder_n_points=2, max_text_len=32))
    dino.save_pretrained(root / "dino")
    (root / "dino" / "vocab.txt").write_text("\n".join(WORDS) + "\n")
    sam = tf.SamModel(tf.SamConfig(
        vision_config=tf.SamVisionConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, mlp_dim=32,
                                         output_channels=16, image_size=64, patch_size=16, window_size=2,
                                         global_attn_indexes=[0], num_pos_feats=8),
        prompt_encoder_config=tf.SamPromptEncoderConfig(hidden_size=16, image_size=64, patch_size=16,
                                                        mask_input_channels=4),
        mask_decoder_config=tf.SamMaskDecoderConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                                    mlp_dim=32, iou_head_hidden_dim=16)))
    sam.save_pretrained(root / "sam")
    return {"dino_model": str(root / "dino"), "sam_model": str(root / "sam")}


__all__ = ["WORDS", "save_tiny_dino_sam"]
