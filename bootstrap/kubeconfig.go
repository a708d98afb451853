package bootstrap

import (
	"fmt"

	"k8s.io/client-go/rest"

	"github.com/kfup/kfup/internal/errs"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// pathOptions selects the user's kubeconfig: explicit when set, else $KUBECONFIG (all of its
// files, merged) or ~/.kube/config, exactly like kubectl.
func pathOptions(explicit string) *clientcmd.PathOptions {
	po := clientcmd.NewDefaultPathOptions()
	if explicit != "" {
		po.LoadingRules.ExplicitPath = explicit
	}
	return po
}

// MergeContext takes a kubeconfig for one cluster (as kind returns it), renames its
// cluster, user and context to ctxName and merges them into the user's kubeconfig,
// leaving every other entry untouched. With setCurrent the new context becomes current.
// It returns the file written.
func MergeContext(kubeconfig []byte, ctxName, explicitPath string, setCurrent bool) (string, error) {
	src, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return "", fmt.Errorf("parse cluster kubeconfig: %w", err)
	}
	srcCtx, ok := src.Contexts[src.CurrentContext]
	if !ok {
		return "", fmt.Errorf("cluster kubeconfig has no current context")
	}
	cluster, user := src.Clusters[srcCtx.Cluster], src.AuthInfos[srcCtx.AuthInfo]
	if cluster == nil || user == nil {
		return "", fmt.Errorf("cluster kubeconfig context %q lacks its cluster or user", src.CurrentContext)
	}
	po := pathOptions(explicitPath)
	cfg, err := po.GetStartingConfig()
	if err != nil {
		return "", fmt.Errorf("read kubeconfig: %w", err)
	}
	// Keep each entry in the file it already lives in (with $KUBECONFIG listing several
	// files), so a stale entry there is replaced rather than shadowed by a copy in the first.
	cluster, user = cluster.DeepCopy(), user.DeepCopy()
	newCtx := &clientcmdapi.Context{Cluster: ctxName, AuthInfo: ctxName, Namespace: srcCtx.Namespace}
	cluster.LocationOfOrigin, user.LocationOfOrigin, newCtx.LocationOfOrigin = "", "", ""
	if old := cfg.Clusters[ctxName]; old != nil {
		cluster.LocationOfOrigin = old.LocationOfOrigin
	}
	if old := cfg.AuthInfos[ctxName]; old != nil {
		user.LocationOfOrigin = old.LocationOfOrigin
	}
	if old := cfg.Contexts[ctxName]; old != nil {
		newCtx.LocationOfOrigin = old.LocationOfOrigin
	}
	cfg.Clusters[ctxName] = cluster
	cfg.AuthInfos[ctxName] = user
	cfg.Contexts[ctxName] = newCtx
	if setCurrent {
		cfg.CurrentContext = ctxName
	}
	if err := clientcmd.ModifyConfig(po, *cfg, true); err != nil {
		return "", fmt.Errorf("write kubeconfig: %w", err)
	}
	if newCtx.LocationOfOrigin != "" {
		return newCtx.LocationOfOrigin, nil
	}
	return po.GetDefaultFilename(), nil
}

// RemoveContext deletes context ctxName and the cluster and user of the same name from the
// user's kubeconfig; a missing context is not an error. Other entries are untouched.
func RemoveContext(ctxName, explicitPath string) error {
	po := pathOptions(explicitPath)
	cfg, err := po.GetStartingConfig()
	if err != nil {
		return fmt.Errorf("read kubeconfig: %w", err)
	}
	_, hasCtx := cfg.Contexts[ctxName]
	_, hasCluster := cfg.Clusters[ctxName]
	_, hasUser := cfg.AuthInfos[ctxName]
	if !hasCtx && !hasCluster && !hasUser {
		return nil
	}
	delete(cfg.Contexts, ctxName)
	delete(cfg.Clusters, ctxName)
	delete(cfg.AuthInfos, ctxName)
	if cfg.CurrentContext == ctxName {
		cfg.CurrentContext = ""
	}
	if err := clientcmd.ModifyConfig(po, *cfg, true); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// HasContext reports whether the user's kubeconfig has context ctxName.
func HasContext(ctxName, explicitPath string) (bool, error) {
	cfg, err := pathOptions(explicitPath).GetStartingConfig()
	if err != nil {
		return false, fmt.Errorf("read kubeconfig: %w", err)
	}
	_, ok := cfg.Contexts[ctxName]
	return ok, nil
}

// RESTConfig returns a client config for context ctxName of the user's kubeconfig.
func RESTConfig(ctxName, explicitPath string) (*rest.Config, error) {
	rules := pathOptions(explicitPath).LoadingRules
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: ctxName})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig context %q: %w", ctxName, err)
	}
	// client-go's defaults (5 requests/s, bursts of 10) would throttle an install of
	// hundreds of objects for tens of seconds; kubectl's own client allows as much as this
	cfg.QPS, cfg.Burst = ClientQPS, ClientBurst
	return cfg, nil
}

// ClientQPS and ClientBurst limit kfup's requests to a cluster's API server, as kubectl's
// defaults do; the server's priority and fairness protects it beyond that.
const (
	ClientQPS   = 50
	ClientBurst = 300
)

// CurrentContext returns the current context of the user's kubeconfig.
func CurrentContext(explicitPath string) (string, error) {
	cfg, err := pathOptions(explicitPath).GetStartingConfig()
	if err != nil {
		return "", fmt.Errorf("read kubeconfig: %w", err)
	}
	if cfg.CurrentContext == "" {
		return "", errs.Usage("pass --context NAME (see 'kubectl config get-contexts')", "the kubeconfig has no current context")
	}
	return cfg.CurrentContext, nil
}
