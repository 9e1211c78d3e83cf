"""The Lambda functions' sources, installed as package data of `enrollcfn.functions`: each
`<name>/index.py` is inlined into its template byte for byte (templates._helpers.inline_code)."""
