// Package prober tells whether a website is still served after its ICP filing
// was cancelled: it fetches http(s)://domain/ and classifies the answer as the
// website itself, an access provider's block, or the way the connection failed.
// After approval the provider blocks the domain (by Host and SNI), not the
// server, so a block answer is the expected state and the website's own
// answer is the breach.
//
// How the results are read:
//   - served: any HTTP answer of the site that is not a recognised block, 4xx
//     and 5xx included (an error page is still the site answering), a redirect
//     to another host or port (recorded in Location, not followed), and an answer whose
//     body was cut short by the timeout (the status line already came from the site).
//   - provider_block: the Alibaba Cloud page (403, Server: Beaver, its texts),
//     the Tencent Cloud redirect to dnspod.qcloud.com/static/webblock.html, or a
//     configured Signature.
//   - reset: the peer tore the connection down, by RST or by closing it, before
//     an answer. Right after the TLS ClientHello this is the providers' SNI block,
//     which the detail says; it stays reset, not provider_block, because a
//     firewall or a broken server look the same and only a block page names the
//     provider. Either way the site is not reachable.
//   - refused: connection refused, or no route to the host.
//   - tls_error: certificate verification or another TLS handshake failure.
//   - http_error: a malformed answer, a redirect loop, more than MaxRedirects
//     same-origin redirects, an unparseable Location.
//   - timeout, dns_error: as named. Names under .invalid fail at once, without
//     a DNS query (RFC 6761).
//   - probe_error: this host failed, not the site: no file descriptor, buffer
//     or local address left (EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL),
//     the caller's context ended, or the target was not a domain and scheme.
//     It proves nothing and must not change what is known of the site;
//     Measurement.Reason says which.
//
// Redirects are followed only within the same scheme, host and port, plus
// http://host/ up to https://host/ (ports 80 and 443), never back, up to
// MaxRedirects; the last hop decides: a redirect to a page that fails to load
// gives that failure. Another port of the same name may be another service
// (an admin interface, something internal that reach.resolve or DNS points
// at), so it is recorded, never requested.
//
// # The providers' blocks
//
// What the built-in recognition relies on; no provider documents its block
// page, so each fact comes from public code and logs, and testdata/ holds
// synthetic pages built from them:
//   - Tencent Cloud blocks the domain, not the host ("会封禁域名，不会封禁主机",
//     tencentyun/qcloud-documents 常见问题/网站访问类.md): HTTP 302 with
//     Location: https://dnspod.qcloud.com/static/webblock.html?d=<domain>,
//     seen in several public logs; HTTPS handshakes are closed.
//   - Alibaba Cloud answers HTTP 403 with Server: Beaver and a page titled
//     "Non-compliance ICP Filing" that loads
//     http://www.aliyun.com/beian/beian-block?id=<per-domain id>, or its
//     localised text 域名暂时无法访问…该域名当前备案状态不符合访问要求
//     (2091655292/KuocaiCDN AliyunIcpComplianceProbe.java and its test, and
//     several independent logs). Over HTTPS the handshake is reset after the
//     SNI (curl error 35, ECONNRESET).
//   - Other WAF pages a probe may meet are not ICP blocks: 360's status 493,
//     Baidu 云加速's 403 "当前访问可能造成安全威胁" (Ekultek/WhatWaf #99, #101).
//     Signatures in the configuration can add such pages.
package prober
