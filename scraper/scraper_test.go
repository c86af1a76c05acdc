package scraper

import (
	"errors"
	"strings"
	"testing"
)

func TestMainLicenceOf(t *testing.T) {
	for in, want := range map[string]string{
		"京ICP备10046444号-9":    "京ICP备10046444号",
		"京ICP备10046444号":      "京ICP备10046444号",
		"粤B2-20090059-5":      "粤B2-20090059",
		"粤B2-20090059":        "粤B2-20090059",
		"粤B2-20090059-1626X":  "粤B2-20090059",
		"陕ICP备2024026116号-1A": "陕ICP备2024026116号",
		"京ICP证030173号-1":      "京ICP证030173号",
		"not-a-licence-3":     "not-a-licence-3",
		"":                    "",
	} {
		if got := MainLicenceOf(in); got != want {
			t.Errorf("MainLicenceOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadBody(t *testing.T) {
	b, err := ReadBody(strings.NewReader("12345"), 5)
	if err != nil || string(b) != "12345" {
		t.Fatalf("ReadBody at the limit = %q, %v", b, err)
	}
	_, err = ReadBody(strings.NewReader("123456"), 5)
	if ReasonOf(err) != Unparseable {
		t.Fatalf("ReadBody over the limit: reason %s (%v), want unparseable", ReasonOf(err), err)
	}
	_, err = ReadBody(failingReader{}, 5)
	if ReasonOf(err) != NetworkError {
		t.Fatalf("ReadBody of a broken stream: reason %s (%v), want network_error", ReasonOf(err), err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestReasonOf(t *testing.T) {
	if got := ReasonOf(Unknown(WAFBlocked, errors.New("x"))); got != WAFBlocked {
		t.Errorf("ReasonOf(waf) = %s", got)
	}
	wrapped := errors.Join(errors.New("context"), Unknown(CaptchaFailed, errors.New("x")))
	if got := ReasonOf(wrapped); got != CaptchaFailed {
		t.Errorf("ReasonOf(wrapped captcha) = %s", got)
	}
	if got := ReasonOf(errors.New("bug")); got != NetworkError {
		t.Errorf("ReasonOf(plain) = %s", got)
	}
	if len(Reasons()) != 10 {
		t.Errorf("Reasons() = %v", Reasons())
	}
}

// Only the reasons about an answer keep a question from the next provider.
func TestAboutProvider(t *testing.T) {
	for _, r := range Reasons() {
		want := r != UnmatchedRecords && r != IncompleteResults
		if AboutProvider(r) != want {
			t.Errorf("AboutProvider(%s) = %t", r, !want)
		}
	}
}
