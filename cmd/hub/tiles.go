package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/haiduong/hub/layers"
	"github.com/haiduong/hub/tiles"
)

// openShared connects to the shared tile cache when HUB_REDIS_URL is set.
func openShared(ctx context.Context) (*tiles.Shared, error) {
	url := os.Getenv("HUB_REDIS_URL")
	if url == "" {
		return nil, nil
	}
	return tiles.OpenShared(ctx, url)
}

const tilesUsage = `hub tiles seed --collections a,b --zoom 10-14 [--url http://127.0.0.1:8080]
hub tiles purge

seed builds every tile of the collections' extent at those zooms: into the shared cache
(HUB_REDIS_URL) when there is one, otherwise by asking the running hub at --url, which keeps
them in its own cache. purge empties the shared cache and every running hub's own.
`

func tilesCmd(ctx context.Context, args []string, stdout io.Writer) error {
	var colls, zoom, url *string
	verb, pool, _, err := subcommand(ctx, "tiles", tilesUsage, args, func(fs *flag.FlagSet) {
		colls = fs.String("collections", "", "collections to seed, comma-separated")
		zoom = fs.String("zoom", "", "zoom levels, e.g. 10-14 or 12")
		url = fs.String("url", "", "running hub to warm when there is no shared cache")
	})
	if err != nil {
		return err
	}
	defer pool.Close()
	shared, err := openShared(ctx)
	if err != nil {
		return err
	}
	if shared != nil {
		defer shared.Close()
	}
	switch verb {
	case "purge":
		if shared != nil {
			n, err := shared.Purge(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "shared cache: %d tiles removed\n", n)
		}
		if _, err := pool.Exec(ctx, "NOTIFY "+tiles.PurgeChannel); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "every running hub was told to empty its tile cache")
		return nil
	case "seed":
	default:
		return fmt.Errorf("hub tiles %s: say seed or purge", args[0])
	}
	z0, z1, err := parseZoom(*zoom)
	if err != nil {
		return err
	}
	reg, err := layers.Load(ctx, pool)
	if err != nil {
		return err
	}
	var ls []*layers.Layer
	for _, id := range strings.Split(*colls, ",") {
		l, ok := reg.Get(strings.TrimSpace(id))
		if !ok {
			return fmt.Errorf("--collections: no collection %q", id)
		}
		if l.IsRecord() {
			return fmt.Errorf("--collections: %s is a record collection; it has no tiles", id)
		}
		ls = append(ls, l)
	}
	if shared == nil && *url == "" {
		return errors.New("no shared cache (HUB_REDIS_URL) to fill: give --url of the running hub to warm")
	}
	svc := tiles.NewService(reg, pool, 0, shared)
	start := time.Now()
	var n, empty int
	for _, l := range ls {
		for _, t := range tiles.Cover(l.Extent, max(z0, l.MinZoom), min(z1, l.MaxZoom)) {
			if shared != nil {
				size, err := svc.Build(ctx, l, t[0], t[1], t[2])
				if err != nil {
					return err
				}
				if size == 0 {
					empty++
				}
			} else if err := warm(ctx, *url, l.ID, t); err != nil {
				return err
			}
			n++
		}
	}
	fmt.Fprintf(stdout, "%d tiles seeded (%d empty) in %.1f s\n", n, empty, time.Since(start).Seconds())
	return nil
}

func warm(ctx context.Context, base, id string, t [3]int) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/collections/%s/tiles/WebMercatorQuad/%d/%d/%d", strings.TrimSuffix(base, "/"), id, t[0], t[2], t[1]), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("warm %s: %w", base, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 && res.StatusCode != 204 {
		return fmt.Errorf("warm %s: tile %v of %s: status %d", base, t, id, res.StatusCode)
	}
	return nil
}

func parseZoom(s string) (int, int, error) {
	a, b, isRange := strings.Cut(s, "-")
	z0, err0 := strconv.Atoi(a)
	z1 := z0
	var err1 error
	if isRange {
		z1, err1 = strconv.Atoi(b)
	}
	if s == "" || err0 != nil || err1 != nil || z0 < 0 || z1 > tiles.MaxZoom || z0 > z1 {
		return 0, 0, fmt.Errorf("--zoom %q: give a level or a range such as 10-14", s)
	}
	return z0, z1, nil
}
