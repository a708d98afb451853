package manager

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components"
)

// LabelAlias marks the alias Services kfup made (components.ManagerService.Aliases),
// beside kfup.dev/component=manager: only those are updated or deleted.
const LabelAlias = "manager.kfup.dev/alias"

// ClusterDomain is the cluster's DNS domain, in the alias Services' targets (kind's, and
// the Kubernetes default).
const ClusterDomain = "cluster.local"

// aliasKey names an alias Service.
func aliasKey(o client.Object) components.ObjectKey {
	return components.ObjectKey{Namespace: o.GetNamespace(), Name: o.GetName()}
}

// aliases are the alias Services of services: ExternalName Services naming the manager's.
func aliases(services []components.ManagerService) []*corev1.Service {
	var out []*corev1.Service
	for _, ms := range services {
		for _, a := range ms.Aliases {
			out = append(out, &corev1.Service{
				TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
				ObjectMeta: metav1.ObjectMeta{Name: a.Name, Namespace: a.Namespace, Labels: map[string]string{
					components.LabelComponent: Name, LabelAlias: "true",
				}},
				Spec: corev1.ServiceSpec{
					Type:         corev1.ServiceTypeExternalName,
					ExternalName: fmt.Sprintf("%s.%s.svc.%s", ms.Name, Namespace, ClusterDomain),
					Ports:        []corev1.ServicePort{{Name: ms.PortName, Port: ms.Port}},
				},
			})
		}
	}
	return out
}

// kfupAlias says whether o is an alias Service kfup made.
func kfupAlias(o client.Object) bool {
	l := o.GetLabels()
	return l[components.LabelComponent] == Name && l[LabelAlias] == "true"
}

// EnsureAliases creates or updates the alias Services of services — each only where no
// object of its name exists or kfup made it; another's is left alone, with a warning —
// creating their namespaces if missing (unlabelled, as EnsureNamespaces), and deletes the
// aliases kfup made that services no longer name. Uninstall passes none.
func EnsureAliases(ctx context.Context, env *components.Env, services []components.ManagerService) error {
	scheme, err := components.NewScheme()
	if err != nil {
		return err
	}
	keep := map[components.ObjectKey]bool{}
	var problems []error
	for _, a := range aliases(services) {
		keep[aliasKey(a)] = true
		if err := EnsureNamespaces(ctx, env.Client, []string{a.Namespace}); err != nil {
			problems = append(problems, err)
			continue
		}
		cur := &corev1.Service{}
		err = env.Client.Get(ctx, client.ObjectKeyFromObject(a), cur)
		switch {
		case err == nil && !kfupAlias(cur):
			if env.Out != nil {
				env.Out.Warnf("Service %s/%s exists and is not kfup's: kfup leaves it alone, so clients dialing it do not reach kfup's manager", a.Namespace, a.Name)
			}
			continue
		case err != nil && !apierrors.IsNotFound(err):
			problems = append(problems, fmt.Errorf("get Service %s/%s: %w", a.Namespace, a.Name, err))
			continue
		}
		if apierrors.IsNotFound(err) { // create, never apply: applying would take over one made meanwhile
			if err := env.Client.Create(ctx, a.DeepCopy()); err != nil && !apierrors.IsAlreadyExists(err) {
				problems = append(problems, fmt.Errorf("create Service %s/%s: %w", a.Namespace, a.Name, err))
			}
			continue
		}
		u, err := components.ToUnstructured(scheme, a)
		if err == nil {
			err = components.Apply(ctx, env.Client, Name, u)
		}
		if err != nil {
			problems = append(problems, err)
		}
	}
	list := &corev1.ServiceList{}
	if err := env.Client.List(ctx, list, client.MatchingLabels{components.LabelComponent: Name, LabelAlias: "true"}); err != nil {
		return errors.Join(append(problems, fmt.Errorf("list kfup's alias Services: %w", err))...)
	}
	for i := range list.Items {
		s := &list.Items[i]
		if keep[aliasKey(s)] || !kfupAlias(s) {
			continue
		}
		if err := env.Client.Delete(ctx, s, client.Preconditions{UID: &s.UID}); client.IgnoreNotFound(err) != nil {
			problems = append(problems, fmt.Errorf("delete Service %s/%s: %w", s.Namespace, s.Name, err))
		}
	}
	return errors.Join(problems...)
}
