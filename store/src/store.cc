#include "edxgate/store/store.h"
