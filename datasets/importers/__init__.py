"""Importers: Label360 JSON (lossless), COCO on equirect images, LabelMe JSON."""
