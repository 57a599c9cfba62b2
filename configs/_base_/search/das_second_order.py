# The DAS search with DARTS' second-order α step (Liu et al., 2019, eq. 7:
# the α gradient taken after a virtual weight step, its Hessian-vector term
# by finite differences; das_mmseg.engine.Unrolled), beyond the paper, whose
# search (and the authors' code) is first order. Everything else as
# ./das_first_order.py. Arm DU of the CamVid evidence (README).
_base_ = ['./das_first_order.py']
das_search = dict(unrolled=True)
