package istio

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	istiomanifests "istio.io/istio/manifests"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/manifests"
)

// Release is one Helm release of the Istio install: a chart of istio.io/istio/manifests
// rendered with kfup's values.
type Release struct {
	Name      string
	Chart     string // directory under charts/
	Namespace string
	Values    map[string]any
}

// Releases returns the releases in install order: base (CRDs, cluster roles), istiod,
// and (when enabled) the ingress gateway as release istio-ingressgateway in istio-system,
// so that net-istio's default selector (istio: ingressgateway) matches it.
func Releases(s Settings) []Release {
	global := map[string]any{"hub": s.Hub, "tag": s.Tag, "istioNamespace": Namespace}
	rs := []Release{
		{Name: "istio-base", Chart: "base", Namespace: Namespace, Values: map[string]any{
			"global": global, "defaultRevision": "default",
		}},
		{Name: "istiod", Chart: "istio-control/istio-discovery", Namespace: Namespace, Values: map[string]any{
			"global":           global,
			"autoscaleEnabled": false,
			"replicaCount":     1,
			// a laptop-sized control plane: upstream's defaults request 500m CPU and 2 GiB
			"resources": map[string]any{"requests": map[string]any{"cpu": "10m", "memory": "100Mi"}},
		}},
	}
	if s.IngressGateway {
		rs = append(rs, Release{Name: GatewayName, Chart: "gateway", Namespace: Namespace, Values: map[string]any{
			"global":      global,
			"labels":      map[string]any{"istio": "ingressgateway", "app": GatewayName},
			"autoscaling": map[string]any{"enabled": false},
			"resources":   map[string]any{"requests": map[string]any{"cpu": "10m", "memory": "40Mi"}},
			"service": map[string]any{
				"type": "NodePort",
				"ports": []any{
					map[string]any{"name": "status-port", "port": 15021, "protocol": "TCP", "targetPort": 15021},
					map[string]any{"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 80, "nodePort": s.HTTPNodePort},
					map[string]any{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443, "nodePort": s.HTTPSNodePort},
				},
			},
		}})
	}
	return rs
}

// loadChart reads a chart directory from the charts that istio.io/istio/manifests embeds.
func loadChart(dir string) (*chart.Chart, error) {
	root := path.Join("charts", dir)
	var files []*loader.BufferedFile
	err := fs.WalkDir(istiomanifests.FS, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(istiomanifests.FS, p)
		if err != nil {
			return err
		}
		files = append(files, &loader.BufferedFile{Name: strings.TrimPrefix(p, root+"/"), Data: b})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read istio chart %s: %w", dir, err)
	}
	return loader.LoadFiles(files)
}

// Render renders every release with the Helm v3 engine (client-side, as `helm template`
// does) and returns the objects in release order, CRDs of a chart's crds/ dir first.
func Render(s Settings) ([]*unstructured.Unstructured, error) {
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = chartutil.KubeVersion{Version: manifests.KubernetesVersion, Major: "1", Minor: manifests.KubernetesMinor}
	var out []*unstructured.Unstructured
	for _, r := range Releases(s) {
		ch, err := loadChart(r.Chart)
		if err != nil {
			return nil, err
		}
		for _, crd := range ch.CRDObjects() {
			objs, err := components.DecodeYAML(crd.Filename, crd.File.Data)
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		}
		vals, err := chartutil.ToRenderValues(ch, r.Values, chartutil.ReleaseOptions{
			Name: r.Name, Namespace: r.Namespace, Revision: 1, IsInstall: true,
		}, caps)
		if err != nil {
			return nil, fmt.Errorf("values of %s: %w", r.Name, err)
		}
		rendered, err := engine.Render(ch, vals)
		if err != nil {
			return nil, fmt.Errorf("render %s: %w", r.Name, err)
		}
		names := make([]string, 0, len(rendered))
		for n := range rendered {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if strings.HasSuffix(n, "NOTES.txt") || strings.TrimSpace(rendered[n]) == "" {
				continue
			}
			objs, err := components.DecodeYAML(n, []byte(rendered[n]))
			if err != nil {
				return nil, err
			}
			for _, o := range objs {
				if o.GetNamespace() == "" && namespaced(o.GetKind()) {
					o.SetNamespace(r.Namespace)
				}
			}
			out = append(out, objs...)
		}
	}
	return out, nil
}

// namespaced reports whether kind is namespaced, for the kinds Istio's charts render.
func namespaced(kind string) bool {
	switch kind {
	case "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "Namespace",
		"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
		return false
	}
	return true
}
