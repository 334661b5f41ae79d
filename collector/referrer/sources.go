package referrer

// kind is what a known referrer host or source name is, which decides its
// channel; kindNamed has a display name but no channel of its own.
type kind uint8

const (
	kindNone kind = iota
	kindNamed
	kindSearch
	kindSocial
	kindVideo
	kindEmail
)

// source is a known referrer: the name dashboards show and its kind.
type source struct {
	name string
	kind kind
}

// hostSources maps registrable domains (and a few exact hosts and Android
// app ids) to sources. Subdomains match their parent ("m.facebook.com" finds
// "facebook.com"), and the most specific entry wins, so "mail.google.com"
// beats "google.com". Brands that use many country domains are in
// brandSources instead.
var hostSources = map[string]source{
	// Search engines.
	"bing.com":         {"Bing", kindSearch},
	"duckduckgo.com":   {"DuckDuckGo", kindSearch},
	"ecosia.org":       {"Ecosia", kindSearch},
	"search.brave.com": {"Brave Search", kindSearch},
	"startpage.com":    {"Startpage", kindSearch},
	"qwant.com":        {"Qwant", kindSearch},
	"kagi.com":         {"Kagi", kindSearch},
	"search.aol.com":   {"AOL", kindSearch},
	"ask.com":          {"Ask", kindSearch},
	"naver.com":        {"Naver", kindSearch},
	"seznam.cz":        {"Seznam", kindSearch},
	"sogou.com":        {"Sogou", kindSearch},
	"so.com":           {"360 Search", kindSearch},
	"perplexity.ai":    {"Perplexity", kindSearch},
	"chatgpt.com":      {"ChatGPT", kindSearch},
	"com.google.android.googlequicksearchbox": {"Google", kindSearch},

	// Social networks.
	"facebook.com":         {"Facebook", kindSocial},
	"fb.com":               {"Facebook", kindSocial},
	"fb.me":                {"Facebook", kindSocial},
	"messenger.com":        {"Facebook", kindSocial},
	"instagram.com":        {"Instagram", kindSocial},
	"l.instagram.com":      {"Instagram", kindSocial},
	"linkedin.com":         {"LinkedIn", kindSocial},
	"lnkd.in":              {"LinkedIn", kindSocial},
	"com.linkedin.android": {"LinkedIn", kindSocial},
	"x.com":                {"X", kindSocial},
	"twitter.com":          {"X", kindSocial},
	"t.co":                 {"X", kindSocial},
	"reddit.com":           {"Reddit", kindSocial},
	"redd.it":              {"Reddit", kindSocial},
	"pinterest.com":        {"Pinterest", kindSocial},
	"pin.it":               {"Pinterest", kindSocial},
	"tiktok.com":           {"TikTok", kindSocial},
	"news.ycombinator.com": {"Hacker News", kindSocial},
	"threads.net":          {"Threads", kindSocial},
	"bsky.app":             {"Bluesky", kindSocial},
	"mastodon.social":      {"Mastodon", kindSocial},
	"tumblr.com":           {"Tumblr", kindSocial},
	"vk.com":               {"VK", kindSocial},
	"weibo.com":            {"Weibo", kindSocial},
	"quora.com":            {"Quora", kindSocial},
	"snapchat.com":         {"Snapchat", kindSocial},
	"discord.com":          {"Discord", kindSocial},
	"t.me":                 {"Telegram", kindSocial},
	"web.telegram.org":     {"Telegram", kindSocial},
	"wa.me":                {"WhatsApp", kindSocial},
	"web.whatsapp.com":     {"WhatsApp", kindSocial},
	"lobste.rs":            {"Lobsters", kindSocial},
	"producthunt.com":      {"Product Hunt", kindSocial},
	"stackoverflow.com":    {"Stack Overflow", kindSocial},

	// Video.
	"youtube.com":                {"YouTube", kindVideo},
	"youtu.be":                   {"YouTube", kindVideo},
	"com.google.android.youtube": {"YouTube", kindVideo},
	"vimeo.com":                  {"Vimeo", kindVideo},
	"twitch.tv":                  {"Twitch", kindVideo},
	"dailymotion.com":            {"Dailymotion", kindVideo},

	// Webmail.
	"mail.google.com":              {"Gmail", kindEmail},
	"com.google.android.gm":        {"Gmail", kindEmail},
	"outlook.live.com":             {"Outlook", kindEmail},
	"outlook.office.com":           {"Outlook", kindEmail},
	"outlook.office365.com":        {"Outlook", kindEmail},
	"com.microsoft.office.outlook": {"Outlook", kindEmail},
	"mail.yahoo.com":               {"Yahoo! Mail", kindEmail},
	"mail.proton.me":               {"Proton Mail", kindEmail},
	"mail.aol.com":                 {"AOL Mail", kindEmail},
	"mail.yandex.ru":               {"Yandex Mail", kindEmail},
	"mail.zoho.com":                {"Zoho Mail", kindEmail},

	// Named, but plain referrals.
	"github.com":    {"GitHub", kindNamed},
	"gitlab.com":    {"GitLab", kindNamed},
	"wikipedia.org": {"Wikipedia", kindNamed},
	"medium.com":    {"Medium", kindNamed},
	"substack.com":  {"Substack", kindNamed},
}

// brandSources matches a brand label under any public-suffix-like ending
// ("google.de", "google.co.uk", "images.google.com.br"), since these engines
// run a domain per country.
var brandSources = map[string]source{
	"google": {"Google", kindSearch},
	"yahoo":  {"Yahoo!", kindSearch},
	"yandex": {"Yandex", kindSearch},
	"baidu":  {"Baidu", kindSearch},
	"bing":   {"Bing", kindSearch},
	"ecosia": {"Ecosia", kindSearch},
}

// secondLevels are the labels that country domains put under their TLD
// ("co.uk", "com.br"), so "google.co.uk" is Google but "google.example.com"
// is not.
var secondLevels = map[string]bool{
	"co": true, "com": true, "ac": true, "or": true, "ne": true, "net": true, "org": true, "gov": true,
}

// nameSources maps lowercased utm_source values people actually write to
// sources, so utm_source=fb counts as social.
var nameSources = map[string]source{
	"google": {"Google", kindSearch}, "bing": {"Bing", kindSearch}, "duckduckgo": {"DuckDuckGo", kindSearch},
	"ddg": {"DuckDuckGo", kindSearch}, "yahoo": {"Yahoo!", kindSearch}, "yandex": {"Yandex", kindSearch},
	"baidu": {"Baidu", kindSearch}, "ecosia": {"Ecosia", kindSearch}, "brave": {"Brave Search", kindSearch},
	"qwant": {"Qwant", kindSearch}, "startpage": {"Startpage", kindSearch}, "kagi": {"Kagi", kindSearch},
	"naver": {"Naver", kindSearch}, "seznam": {"Seznam", kindSearch},

	"facebook": {"Facebook", kindSocial}, "fb": {"Facebook", kindSocial}, "meta": {"Facebook", kindSocial},
	"instagram": {"Instagram", kindSocial}, "ig": {"Instagram", kindSocial},
	"linkedin": {"LinkedIn", kindSocial}, "twitter": {"X", kindSocial}, "x": {"X", kindSocial},
	"reddit": {"Reddit", kindSocial}, "pinterest": {"Pinterest", kindSocial}, "tiktok": {"TikTok", kindSocial},
	"hackernews": {"Hacker News", kindSocial}, "hacker news": {"Hacker News", kindSocial}, "hn": {"Hacker News", kindSocial},
	"mastodon": {"Mastodon", kindSocial}, "threads": {"Threads", kindSocial}, "bluesky": {"Bluesky", kindSocial},
	"snapchat": {"Snapchat", kindSocial}, "whatsapp": {"WhatsApp", kindSocial}, "telegram": {"Telegram", kindSocial},
	"discord": {"Discord", kindSocial}, "vk": {"VK", kindSocial}, "quora": {"Quora", kindSocial},

	"youtube": {"YouTube", kindVideo}, "vimeo": {"Vimeo", kindVideo}, "twitch": {"Twitch", kindVideo},

	"gmail": {"Gmail", kindEmail}, "outlook": {"Outlook", kindEmail}, "newsletter": {"Newsletter", kindEmail},
	"email": {"Email", kindEmail}, "mailchimp": {"Mailchimp", kindEmail}, "sendinblue": {"Brevo", kindEmail},
	"brevo": {"Brevo", kindEmail},
}

// paidMediums are utm_medium values for paid traffic; the source decides
// whether it is search or social.
var paidMediums = map[string]bool{
	"cpc": true, "ppc": true, "paid": true, "cpm": true, "cpv": true, "cpa": true, "cpp": true,
	"paidsearch": true, "paid_search": true, "paid-search": true, "sem": true,
	"paidsocial": true, "paid_social": true, "paid-social": true, "social_paid": true, "social-paid": true,
	"display": true, "banner": true, "retargeting": true, "affiliate": true, "ads": true, "ad": true,
}

// paidSocialMediums say "social" themselves, so they are Paid Social even
// when the source is unknown.
var paidSocialMediums = map[string]bool{
	"paidsocial": true, "paid_social": true, "paid-social": true, "social_paid": true, "social-paid": true,
}

// paidSearchMediums say "search" themselves.
var paidSearchMediums = map[string]bool{
	"paidsearch": true, "paid_search": true, "paid-search": true, "sem": true,
}

// unpaidMediums map the remaining well-known utm_medium values to channels.
var unpaidMediums = map[string]string{
	"email": Email, "e-mail": Email, "e_mail": Email, "newsletter": Email, "mail": Email,
	"organic": OrganicSearch,
	"social":  OrganicSocial, "social-network": OrganicSocial, "social_network": OrganicSocial,
	"social-media": OrganicSocial, "social_media": OrganicSocial, "sm": OrganicSocial,
	"video":    OrganicVideo,
	"referral": Referral,
}
