package miittest

import (
	"encoding/json"
	"mime"
	"net/http"
	"regexp"
	"strconv"

	"github.com/icpmon/icpmon/scraper"
)

// jsluid is the 加速乐 cookie the query step requires (../PROTOCOL.md §2.3).
var jsluid = regexp.MustCompile(`^[0-9a-f]{32}$`)

// queryBody is the queryByCondition request. pageNum and pageSize may be
// numbers or "" (HG-ha sends ""), so they are decoded loosely.
type queryBody struct {
	PageNum     json.RawMessage `json:"pageNum"`
	PageSize    json.RawMessage `json:"pageSize"`
	UnitName    string          `json:"unitName"`
	ServiceType *int            `json:"serviceType"`
}

// serveQuery: POST /icpAbbreviateInfo/queryByCondition with headers token,
// sign, uuid and the __jsluid_s cookie. Under a silent ban
// (Options.SilentBanAfter) a well-formed query gets an empty list.
func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request, fault *Fault, banned bool) {
	if c, err := r.Cookie("__jsluid_s"); err != nil || !jsluid.MatchString(c.Value) {
		writeJSChallenge(w)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeJSON(w, envelope{Code: 415, Msg: "参数异常,content_type_not_supported"})
		return
	}
	token := r.Header.Get("token")
	if !s.tokenValid(token) {
		writeJSON(w, tokenExpired())
		return
	}
	// The message is the one users report; its code is not documented
	// (fasnow/fine #151), so the simulator picks 500.
	if !s.useSign(token, r.Header.Get("sign"), r.Header.Get("uuid")) {
		writeJSON(w, envelope{Code: 500, Msg: "请求非法,验证码不匹配!!"})
		return
	}
	var body queryBody
	if json.NewDecoder(r.Body).Decode(&body) != nil || body.ServiceType == nil || compact(body.UnitName) == "" {
		writeJSON(w, serverError()) // a missing serviceType is a 500 since 2023-09 (ICP-Checker PR #23)
		return
	}
	pageNum, ok1 := looseInt(body.PageNum, 1)
	pageSize, ok2 := looseInt(body.PageSize, 10)
	if !ok1 || !ok2 || pageNum < 1 || pageSize < 1 || pageSize > s.opts.MaxPageSize {
		writeJSON(w, serverError())
		return
	}
	var hits []record
	switch {
	case banned:
		s.mu.Lock()
		s.ban.spoiled++
		s.mu.Unlock()
	case fault == nil || fault.Kind != FaultSilentEmpty:
		hits = s.match(compact(body.UnitName), *body.ServiceType)
	}
	writeJSON(w, success(page(hits, pageNum, pageSize)))
}

// match finds the records a unitName designates: a subject licence returns
// every record under it; a service licence, a domain or a unit name those
// records (../PROTOCOL.md §5).
func (s *Server) match(q string, serviceType int) []record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []record
	for _, r := range s.records {
		if r.ServiceType != serviceType {
			continue
		}
		if r.Licence == q || r.MainLicence == q || r.Domain == q || r.UnitName == q {
			out = append(out, r)
		}
	}
	return out
}

// item is one list entry as the real API shows it (../PROTOCOL.md §6.1).
type item struct {
	ContentTypeName  string `json:"contentTypeName"`
	Domain           string `json:"domain"`
	DomainID         int64  `json:"domainId"`
	HomeURL          string `json:"homeUrl"`
	LeaderName       string `json:"leaderName"`
	LimitAccess      string `json:"limitAccess"`
	MainID           int64  `json:"mainId"`
	MainLicence      string `json:"mainLicence"`
	NatureName       string `json:"natureName"`
	ServiceID        int64  `json:"serviceId"`
	ServiceLicence   string `json:"serviceLicence"`
	ServiceName      string `json:"serviceName"`
	UnitName         string `json:"unitName"`
	UpdateRecordTime string `json:"updateRecordTime"`
}

// page builds the PageHelper object the real API returns.
func page(hits []record, pageNum, pageSize int) map[string]any {
	total := len(hits)
	pages := (total + pageSize - 1) / pageSize
	start := min((pageNum-1)*pageSize, total)
	end := min(start+pageSize, total)
	list := make([]item, 0, end-start)
	for _, r := range hits[start:end] {
		list = append(list, item{
			Domain: r.Domain, DomainID: r.domainID, HomeURL: "www." + r.Domain, LimitAccess: "否",
			MainID: r.mainID, MainLicence: r.MainLicence, NatureName: "企业", ServiceID: r.serviceID,
			ServiceLicence: r.Licence, ServiceName: r.ServiceName, UnitName: r.UnitName,
			UpdateRecordTime: r.ApprovedAt,
		})
	}
	nums := []int{}
	for i := 1; i <= min(pages, 8); i++ {
		nums = append(nums, i)
	}
	return map[string]any{
		"endRow": max(end-1, 0), "firstPage": 1, "hasNextPage": pageNum < pages, "hasPreviousPage": pageNum > 1,
		"isFirstPage": pageNum == 1, "isLastPage": pageNum >= pages, "lastPage": max(pages, 1), "list": list,
		"navigatePages": 8, "navigatepageNums": nums, "nextPage": min(pageNum+1, max(pages, 1)),
		"pageNum": pageNum, "pageSize": pageSize, "pages": pages, "prePage": max(pageNum-1, 0),
		"size": len(list), "startRow": start, "total": total,
	}
}

// looseInt reads a JSON number, a numeric string, or ""/absent as def.
func looseInt(raw json.RawMessage, def int) (int, bool) {
	if len(raw) == 0 || string(raw) == `""` || string(raw) == "null" {
		return def, true
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return n, true
	}
	var str string
	if json.Unmarshal(raw, &str) != nil {
		return 0, false
	}
	n, err := strconv.Atoi(str)
	return n, err == nil
}

// QueryAnswer renders the JSON the real API answers to a query whose hits are
// records, for tests of clients that relay it (an HG-ha/ICP_Query-compatible
// service passes it through unchanged).
func QueryAnswer(records []scraper.Record, pageNum, pageSize int) []byte {
	hits := make([]record, len(records))
	for i, r := range records {
		if r.MainLicence == "" {
			r.MainLicence = scraper.MainLicenceOf(r.Licence)
		}
		hits[i] = record{Record: r, mainID: 1, domainID: int64(2 * i), serviceID: int64(2*i + 1)}
	}
	b, _ := json.Marshal(success(page(hits, pageNum, pageSize)))
	return b
}
