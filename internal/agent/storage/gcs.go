package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"
)

// gcsEndpoint is Google Cloud Storage's; STORAGE_EMULATOR_HOST (as Google's own client
// libraries read it) points the initializer elsewhere.
const gcsEndpoint = "https://storage.googleapis.com"

// downloadGCS copies the public objects under gs://bucket/prefix, read anonymously
// through the JSON API (list, then alt=media), as KServe's anonymous client does.
func downloadGCS(ctx context.Context, uri, rest string, w *writer, o Options) error {
	bucket, prefix, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return fmt.Errorf("storageUri %q names no bucket: use gs://<bucket>/<path>", uri)
	}
	base := gcsEndpoint
	if h := o.getenv("STORAGE_EMULATOR_HOST"); h != "" {
		base = strings.TrimRight(h, "/")
		if !strings.Contains(base, "://") {
			base = "http://" + base
		}
	}
	c := o.client()
	fail := func(err error) error {
		switch code := statusCode(err); code {
		case 404:
			return fmt.Errorf("%s: bucket %s not found (404)", uri, bucket)
		case 401, 403:
			return fmt.Errorf("%s: %d: the objects are not public; kfup reads gs:// anonymously (no Google credentials are used) — make them public or copy the model to s3:// or a PVC", uri, code)
		}
		return fmt.Errorf("%s: %w", uri, err)
	}
	n, token := 0, ""
	for {
		q := url.Values{"prefix": {prefix}, "fields": {"items(name,size),nextPageToken"}}
		if token != "" {
			q.Set("pageToken", token)
		}
		body, err := get(ctx, c, fmt.Sprintf("%s/storage/v1/b/%s/o?%s", base, url.PathEscape(bucket), q.Encode()), nil)
		if err != nil {
			return fail(err)
		}
		var page struct {
			Items []struct {
				Name string `json:"name"`
			} `json:"items"`
			NextPageToken string `json:"nextPageToken"`
		}
		err = json.NewDecoder(body).Decode(&page)
		body.Close()
		if err != nil {
			return fmt.Errorf("%s: read the object listing: %w", uri, err)
		}
		for _, it := range page.Items {
			rel, ok := objectPath(it.Name, prefix)
			if !ok {
				continue
			}
			obj, err := get(ctx, c, fmt.Sprintf("%s/storage/v1/b/%s/o/%s?alt=media", base, url.PathEscape(bucket), url.PathEscape(it.Name)), nil)
			if err != nil {
				return fail(err)
			}
			err = w.create(rel, obj)
			obj.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", uri, err)
			}
			n++
		}
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	if n == 0 {
		return fmt.Errorf("%s: no objects found under prefix %q in bucket %s", uri, prefix, bucket)
	}
	return nil
}

// objectPath is where the object key goes under the model directory when it is under
// prefix: its path below the prefix, or its base name when it is the prefix itself.
// Keys that only share the prefix's characters (prefix "m/a", key "m/ab") and
// "directory" placeholders (ending in /) are not the model's.
func objectPath(key, prefix string) (string, bool) {
	if strings.HasSuffix(key, "/") {
		return "", false
	}
	p := strings.TrimSuffix(prefix, "/")
	switch {
	case p == "":
		return key, true
	case key == p:
		return path.Base(key), true
	case strings.HasPrefix(key, p+"/"):
		return strings.TrimPrefix(key, p+"/"), true
	}
	return "", false
}
