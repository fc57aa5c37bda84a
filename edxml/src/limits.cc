#include "edxgate/edxml/limits.h"
