// Package bootstrap owns the cluster lifecycle: the Provider implementations (kind through
// the sigs.k8s.io/kind library, or an existing cluster), the generated kind config, the
// kubeconfig context kfup-<name>, the on-disk record of what kfup made, and the ordered,
// resumable steps of `kfup create`, `kfup delete` and `kfup status`.
package bootstrap

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kfup/kfup/internal/errs"
)

// DefaultName is the cluster name used when --name is not given.
const DefaultName = "kfup"

// maxNameLen keeps "<name>-control-plane" (kind's node container and hostname) a DNS label.
const maxNameLen = validation.DNS1123LabelMaxLength - len("-control-plane")

// ValidateName checks that name can name a cluster: a DNS label short enough for kind's
// node hostnames.
func ValidateName(name string) error {
	if name == "" {
		return errs.Usage("pass --name with a DNS label such as 'kfup' or 'ml-dev'", "cluster name is empty")
	}
	if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
		return errs.Usage("use lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. 'ml-dev')",
			"invalid cluster name %q: %s", name, strings.Join(msgs, "; "))
	}
	if len(name) > maxNameLen {
		return errs.Usage(fmt.Sprintf("use at most %d characters", maxNameLen),
			"cluster name %q is too long (%d characters): kind names its node %q", name, len(name), name+"-control-plane")
	}
	return nil
}

// ContextName returns the kubeconfig context kfup writes for cluster name.
func ContextName(name string) string { return "kfup-" + name }
