# thingsvision 2.7.3 was written for numpy 1: the two names it needs, under their numpy 2 homes
import numpy as np
if not hasattr(np, "AxisError"): np.AxisError = np.exceptions.AxisError
