"""The shared vocabulary of the f2p loop, defined once and imported by every package (issue
"One concept, one home"): object classes and what each can do (`classes`), skills with their
parameters, bounds, calls and outcomes (`skills`), the relation vocabulary (`relations`), a
perceived scene (`scene`), a failure event and its classification (`failure`), a skeleton step
(`task`), and goals: conjunctions of relations, parsed from text (`goal`, over the tokenizer of
`syntax` that the planner's skeleton parser shares). ROS-free and simulator-free (numpy only),
at the bottom of the package graph.
"""
