"""python -m check Pulumi.<stack>.yaml: a stack file checked offline with the program's own parser,
then the plan it would deploy and what it costs a month."""
