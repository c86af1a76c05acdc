package statuspage_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestBrowser reads the pages as people do, in headless Chromium: the list,
// its filter form submitted, a cancellation's page reached from its row,
// and both again in Chinese. It saves full-page screenshots for review.
func TestBrowser(t *testing.T) {
	chromium := findChromium(t)
	s := startSite(t)
	artifacts := artifactsDir(t)

	en := browser(t, chromium, "en-US,en")
	ctx, cancel := context.WithTimeout(en, 2*time.Minute)
	defer cancel()

	do(t, ctx, chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.ID("cancellations")))
	if n := rows(t, ctx); n != samples {
		t.Errorf("the list shows %d rows, want %d", n, samples)
	}
	// The licence never wraps, however narrow its column.
	if ws := evaluate[string](t, ctx, `getComputedStyle(document.querySelector("td.licence")).whiteSpace`); ws != "nowrap" {
		t.Errorf("a licence cell has white-space %q, want nowrap", ws)
	}
	screenshot(t, ctx, artifacts, "status-page-en.png")

	// Filter with the form, as a person would: website cancellations that
	// mention example.cn.
	filter(t, ctx, "website", "example.cn")
	if n := rows(t, ctx); n != 2 {
		t.Errorf("kind=website q=example.cn shows %d rows, want 2 (soon-sh, zj-new)", n)
	}
	if text := evaluate[string](t, ctx, `document.getElementById("matched").textContent`); !strings.HasPrefix(text, "2 of 6 match.") {
		t.Errorf("the filtered list says %q", text)
	}
	if loc := evaluate[string](t, ctx, `location.search`); !strings.Contains(loc, "kind=website") || !strings.Contains(loc, "q=example.cn") {
		t.Errorf("the form did not submit its fields as GET parameters: %s", loc)
	}
	// The Unicode form of an internationalised domain finds it.
	filter(t, ctx, "", "中国")
	if n := rows(t, ctx); n != 1 {
		t.Errorf("q=中国 shows %d rows, want 1 (idn-gd)", n)
	}

	// Its row leads to its page.
	_, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`tr.cancellation td.licence a`))))
	if err != nil {
		t.Fatalf("follow the licence link: %v", err)
	}
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("verdicts")))
	verdicts := evaluate[string](t, ctx, `document.getElementById("verdicts").innerText`)
	for _, want := range []string{"Website served", "https://xn--fiqs8s.cn (中国.cn) answered served", "Record absent"} {
		if !strings.Contains(verdicts, want) {
			t.Errorf("the page of idn-gd lacks %q among its verdicts:\n%s", want, verdicts)
		}
	}
	screenshot(t, ctx, artifacts, "cancellation-page-en.png")

	// A browser that prefers Chinese reads Chinese labels.
	zh := browser(t, chromium, "zh-CN,zh")
	zctx, zcancel := context.WithTimeout(zh, 2*time.Minute)
	defer zcancel()
	do(t, zctx, chromedp.Navigate(s.base+"/?status=pending"), chromedp.WaitVisible(chromedp.ID("cancellations")))
	if lang := evaluate[string](t, zctx, `document.documentElement.lang`); lang != "zh-CN" {
		t.Errorf("<html lang=%q> for a Chinese browser", lang)
	}
	body := evaluate[string](t, zctx, `document.body.innerText`)
	for _, want := range []string{"跟踪的注销", "4 / 6 条符合。", "审核期限", "（已超期）", "筛选"} {
		if !strings.Contains(body, want) {
			t.Errorf("the Chinese list lacks %q:\n%s", want, body)
		}
	}
	if n := rows(t, zctx); n != 4 {
		t.Errorf("status=pending shows %d rows, want 4", n)
	}
	screenshot(t, zctx, artifacts, "status-page-zh.png")
	do(t, zctx, chromedp.Navigate(s.base+"/cancellations/idn-gd"), chromedp.WaitVisible(chromedp.ID("verdicts")))
	if body := evaluate[string](t, zctx, `document.body.innerText`); !strings.Contains(body, "结论及依据") || !strings.Contains(body, "网站仍可访问") {
		t.Errorf("the Chinese cancellation page lacks its labels:\n%s", body)
	}
	screenshot(t, zctx, artifacts, "cancellation-page-zh.png")
}

// findChromium returns the browser's path. Without one the test skips,
// except on CI, where a missing browser is a broken setup.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (.ci/install-deps installs it)")
	}
	t.Skip("chromium is not installed")
	return ""
}

// browser starts headless Chromium asking for pages in acceptLanguage,
// with a profile of its own and nothing that would reach the network
// (which is closed on CI: Chromium would wait on it).
func browser(t *testing.T, path, acceptLanguage string) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("accept-lang", acceptLanguage),
		chromedp.Flag("lang", strings.Split(acceptLanguage, ",")[0]),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1600, 1000),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return ctx
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

func evaluate[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// rows counts the list's rows.
func rows(t *testing.T, ctx context.Context) int {
	t.Helper()
	return evaluate[int](t, ctx, `document.querySelectorAll("tr.cancellation").length`)
}

// filter fills the form's kind and search text, presses its button and
// waits for the page it loads.
func filter(t *testing.T, ctx context.Context, kind, search string) {
	t.Helper()
	do(t, ctx,
		chromedp.SetValue(chromedp.CSS(`select[name="kind"]`), kind),
		chromedp.SetValue(chromedp.CSS(`input[name="q"]`), search),
	)
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)))); err != nil {
		t.Fatalf("submit the filters: %v", err)
	}
}

// screenshot saves the whole page as PNG in dir.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// artifactsDir is where the test leaves what people look at after it:
// $ICPMON_TEST_ARTIFACTS, else bin/test-artifacts in the repository (bin/
// is ignored by git).
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ICPMON_TEST_ARTIFACTS")
	if dir == "" {
		root, err := repositoryRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "bin", "test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// repositoryRoot is the nearest directory up from here holding go.mod.
func repositoryRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's directory")
		}
		dir = parent
	}
}
