// Package trials holds trial programs kfup ships for its tuning API: training code a
// trial container runs, embedded so tests and examples use exactly what is documented.
package trials

import _ "embed"

// NASDigits is nas_digits.py: an ENAS trial taking Katib's flags (--architecture,
// --nn_config, --num_epochs) that builds the network, trains it briefly on
// scikit-learn's digits and prints Validation-Accuracy; --synthetic-target=<architecture>
// prints the share of decisions equal to the target's instead. It needs Python 3 with
// PyTorch and scikit-learn (kfup's python-ml image).
//
//go:embed nas_digits.py
var NASDigits string
