import json
import os
from pathlib import Path


def groups_of(username):
    return json.loads(Path(os.environ["PROVIDER_GROUPS_FILE"]).read_text()).get(username, [])
