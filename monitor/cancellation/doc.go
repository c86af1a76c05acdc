// Package cancellation is the model of one ICP filing cancellation under
// review: its kind, its lifecycle, and the evidence the jobs gather about it.
//
// # Kinds
//
// Cancelling a subject (注销主体) deletes the subject's number at MIIT and
// every website and App filed under it; cancelling a website (注销网站)
// deletes that website's number only; cancelling access (取消接入) unlinks the
// filing from one access provider, so MIIT keeps the number and the public
// query keeps returning it, while the provider stops serving the domain from
// its mainland IPs (tencentyun/qcloud-documents 常见问题/注销备案.md and
// 取消接入.md; Alibaba Cloud, "the difference between canceling access and
// canceling filing", help.aliyun.com/zh/icp-filing). The communications
// administration of the filer's province reviews a cancellation within 20
// business days, 30 in Zhejiang (Tencent Cloud, 常见问题/备案流程/备案审核.md:
// "管局审核时长不超过20个工作日（浙江30个工作日）"). A new filing may be made once
// the public query returns no record.
//
// # Licence numbers
//
// MIIT publishes no format; ParseLicence accepts what public records show:
//   - A subject number is <province>ICP备<digits>号, e.g. 京ICP备10046444号; a
//     website's number appends -n, the subject's n-th website:
//     京ICP备10046444号-9 (an MIIT answer of 2021, scraper/miit/PROTOCOL.md
//     §6.1).
//   - Older numbers have 8 digits, the first two the year (京ICP备16059763号,
//     2016); recent ones 10, the first four the year (蜀ICP备2025152100号-2).
//     When the switch happened is not known.
//   - Operating licences (ICP证, 6 digits: 京ICP证030173号-1) and value-added
//     telecom licences (粤B2-20090059-5) appear as the licence of a
//     licence holder's records (qq.com in a 2023 MIIT answer).
//   - Apps and mini programs share the subject number; the website suffix
//     carries a letter: App -nA (陕ICP备2024026116号-1A), mini program -nX
//     (苏ICP备2026044365号-1X, 粤B2-20090059-1626X). The quick-app letter K
//     has no public example.
//   - Four provinces file under a prefix other than their licence-plate
//     abbreviation: current numbers use 滇 (Yunnan), 黔 (Guizhou), 蜀
//     (Sichuan) and 陇 (Gansu), while older ones with 云 贵 川 甘 exist
//     (川ICP备10200063号-1, 甘ICP备16003251号-1) and operators type either;
//     both spellings are one licence (LicenceKey). No official prefix table
//     was found; the counts come from numbers in public code.
//   - Numbers are written with spaces (陇ICP备 05000593) and full-width
//     characters, which are normalised.
package cancellation
