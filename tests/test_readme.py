"""The README's Python snippets run as written, and its two commands are the first lines."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_snippets_run():
    text = README.read_text()
    ns: dict = {}
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        exec(compile(block, str(README), "exec"), ns)


def test_readme_opens_with_the_two_commands():
    first = re.search(r"```bash\n(.*?)```", README.read_text(), re.S).group(1).splitlines()
    assert first[0].startswith('pip install -e ".[report]" && diffusion-verify report')
    assert first[1].startswith('pip install -e ".[test]" && python -m pytest')
