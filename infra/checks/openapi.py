"""Validates docs/openapi.yaml against the OpenAPI 3.1 specification (offline).

That the document lists exactly template.yaml's routes is checked by tests/tests/openapi.rs.
"""

import pathlib
import sys

import yaml
from openapi_spec_validator import validate

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main() -> int:
    document = yaml.safe_load((ROOT / "docs/openapi.yaml").read_text())
    try:
        validate(document)
    except Exception as error:  # the validator raises one of several types
        print(f"docs/openapi.yaml: {error}", file=sys.stderr)
        return 1
    print("docs/openapi.yaml: valid OpenAPI", document["openapi"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
