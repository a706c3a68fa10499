"""``ser models``: the model registry."""

from __future__ import annotations

import argparse
import json


def _count_parameters(name: str) -> int | None:
    """Parameters of a model built with its defaults and 7 classes (None when unknown)."""
    import torch

    from ser_core.models import count_parameters, create_model, model_info

    if not model_info(name).is_torch:
        return None  # the svm's size depends on its training data
    options: dict[str, object] = {}
    if "pretrained" in model_info(name).default_config:
        options["pretrained"] = None  # count the architecture; never look for weight files
    try:
        with torch.device("meta"):  # no memory, no initialisation: fast even for VGG-19
            return count_parameters(create_model(name, 7, **options))
    except Exception:
        try:
            return count_parameters(create_model(name, 7, **options))
        except Exception:
            return None


def _cmd_models(args: argparse.Namespace) -> int:
    from ser_core.models import list_models, model_info

    rows = []
    for name in list_models():
        info = model_info(name)
        rows.append(
            {
                "name": name,
                "input": info.input_kind,
                "features": info.features,
                "parameters": _count_parameters(name),
                "explanation": info.explanation,
                "reference": info.reference,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = 70  # references are long; the JSON output has them whole
    header = ("name", "input", "features", "parameters", "explanation", "reference")
    cells = [
        (
            r["name"],
            r["input"],
            r["features"],
            f"{r['parameters']:,}" if r["parameters"] is not None else "fitted",
            r["explanation"],
            r["reference"] if len(r["reference"]) <= width else r["reference"][: width - 1] + "…",
        )
        for r in rows
    ]
    sizes = [max(len(str(row[i])) for row in [header, *cells]) for i in range(len(header))]
    for row in [header, *cells]:
        line = "  ".join(
            str(v).rjust(n) if i == 3 else str(v).ljust(n)
            for i, (v, n) in enumerate(zip(row, sizes, strict=True))
        )
        print(line.rstrip())
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    models = commands.add_parser("models", help="list the registered models")
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")
    models.set_defaults(handler=_cmd_models)
