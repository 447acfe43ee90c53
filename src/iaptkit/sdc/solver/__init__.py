"""The solvers under disclosure control: cell spaces, LPs, hypercube moves, cycle proofs, intervals.

Nothing here knows about policies or tables; :mod:`iaptkit.sdc` builds the cell spaces and
reads the results.
"""
