"""`nprog memory train|eval TASK`: the command's arguments (`args`, torch-free so that `nprog --help` stays
light) and its runner (`cli`: training, evaluation, the card, `--plot`). The tasks, their pictures and
live examples live in nprog.memory.tasks; their checkpoints in nprog.memory.checkpoints."""
