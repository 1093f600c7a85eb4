# thingsvision 2.7.3 was written for numpy 1: the one name it needs (np.AxisError), under its numpy 2 home
import numpy as np
if not hasattr(np, "AxisError"): np.AxisError = np.exceptions.AxisError
