// hsm: PKCS#11 tokens through libp11 (placeholder until the hsm issue lands).
#pragma once
