package bootstrap

import (
	"context"
	"errors"
	"fmt"
)

// DeleteResult says what Delete did.
type DeleteResult struct {
	Name string `json:"name"`
	// Deleted is false when there was nothing of kfup's to delete.
	Deleted bool `json:"deleted"`
	// Provider is how the cluster was set up; an existing cluster is only forgotten.
	Provider string `json:"provider,omitempty"`
}

// Delete removes cluster name and everything kfup made for it: the provider's cluster (kind's
// node containers), the kfup-<name> kubeconfig context and kfup's record. A cluster adopted
// with --provider existing is left running; only kfup's record of it goes. Deleting what
// does not exist succeeds with Deleted false. kubeconfig overrides the recorded kubeconfig
// file. It waits for a create or delete of the same cluster in another process (ctx ends
// the wait).
func Delete(ctx context.Context, env *Env, name, kubeconfig string) (*DeleteResult, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	unlock, err := env.LockCluster(ctx, name, "delete")
	if err != nil {
		return nil, err
	}
	defer unlock()
	rec, err := env.Store.Load(name)
	if err != nil {
		return nil, err
	}
	res := &DeleteResult{Name: name}
	var p Provider
	if rec != nil {
		res.Provider = rec.Provider
		if kubeconfig == "" {
			kubeconfig = rec.Kubeconfig
		}
		if p, err = env.provider(rec.Provider); err != nil {
			return nil, err
		}
	}
	if p != nil && p.Adopts() {
		st := env.Out.Step(fmt.Sprintf("Forgetting existing cluster %q (it keeps running)", name))
		if err := st.End(env.Store.Remove(name)); err != nil {
			return nil, err
		}
		res.Deleted = true
		return res, nil
	}
	exists := false
	if p != nil {
		if exists, err = p.Exists(name); err != nil {
			return nil, err
		}
	} else {
		for _, q := range env.creators() {
			foreign, err := q.Exists(name)
			if err != nil {
				return nil, err
			}
			if foreign {
				// kfup never deletes what it did not make.
				env.Out.Warnf("a %s cluster named %q exists but kfup did not create it; leaving it alone (delete it with %s)", q.Name(), name, q.Name())
			}
		}
	}
	var problems []error
	gone := true
	if exists {
		st := env.Out.Step(fmt.Sprintf("Deleting cluster %q", name))
		err := st.End(p.Delete(name, providerKubeconfigPath(env.Store, name)))
		problems = append(problems, err)
		gone = err == nil
		res.Deleted = true
	}
	ctxName := ContextName(name)
	had, err := HasContext(ctxName, kubeconfig)
	if err != nil {
		problems = append(problems, err)
	}
	if had {
		st := env.Out.Step(fmt.Sprintf("Removing kubeconfig context %s", ctxName))
		problems = append(problems, st.End(RemoveContext(ctxName, kubeconfig)))
		res.Deleted = true
	}
	if rec != nil && gone {
		// a cluster that is still there keeps its record, so that 'kfup delete' can retry
		problems = append(problems, env.Store.Remove(name))
		res.Provider = p.Name()
		res.Deleted = true
	}
	if err := errors.Join(problems...); err != nil {
		return nil, fmt.Errorf("delete cluster %q: %w", name, err)
	}
	return res, nil
}

// DeleteAll deletes every cluster kfup has a record of.
func DeleteAll(ctx context.Context, env *Env, kubeconfig string) ([]DeleteResult, error) {
	names, err := env.Store.Names()
	if err != nil {
		return nil, err
	}
	var out []DeleteResult
	var problems []error
	for _, n := range names {
		r, err := Delete(ctx, env, n, kubeconfig)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		out = append(out, *r)
	}
	return out, errors.Join(problems...)
}
