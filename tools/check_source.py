"""Check source files against the meta-schema only (a fallback while `cdsgen lint` grows).

Usage: python tools/check_source.py spec/cds-wg1-02/clients.yaml [...]
"""

import sys
from pathlib import Path

import jsonschema
import yaml

schema = yaml.safe_load(
    Path(__file__).with_name("cdsgen").joinpath("schema/source.schema.yaml").read_text()
)
validator = jsonschema.Draft202012Validator(schema)
status = 0
for name in sys.argv[1:]:
    try:
        data = yaml.safe_load(Path(name).read_text())
    except yaml.YAMLError as exc:
        print(f"{name}: YAML error: {exc}")
        status = 1
        continue
    for err in sorted(validator.iter_errors(data), key=lambda e: list(e.path)):
        print(f"{name}: {'/'.join(map(str, err.absolute_path))}: {err.message[:300]}")
        status = 1
print("ok" if status == 0 else "problems found")
sys.exit(status)
