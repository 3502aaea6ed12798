"""The README's Python snippets run as written, and its two commands are the first lines."""

import importlib.util
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_snippets_run():
    text = README.read_text()
    ns: dict = {}
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        if "k_diffusion" in block and importlib.util.find_spec("k_diffusion") is None:
            continue  # the peers are not installed
        if "k_diffusion" in block and importlib.util.find_spec("torch") is None:
            continue
        if "diffusers" in block and importlib.util.find_spec("diffusers") is None:
            continue  # the peers extra is not installed: nothing to check the block against
        exec(compile(block, str(README), "exec"), ns)


def test_readme_opens_with_the_two_commands():
    first = re.search(r"```bash\n(.*?)```", README.read_text(), re.S).group(1).splitlines()
    assert first[0].startswith('pip install -e ".[report]" && diffusion-verify report')
    assert first[1].startswith('pip install -e ".[test]" && python -m pytest')
