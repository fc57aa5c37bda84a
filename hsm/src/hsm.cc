#include "edxgate/hsm/hsm.h"
