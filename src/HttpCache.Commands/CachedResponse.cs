using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;

namespace HttpCache;

/// <summary>
/// An answer of Invoke-CachedWebRequest: every property of Invoke-WebRequest's answer (BasicHtmlWebResponseObject
/// for text, WebResponseObject otherwise), with the same types, and how the cache served it (FromCache, Reason,
/// ExpiresAt…).
/// </summary>
public sealed partial class CachedResponse
{
    private readonly byte[] body;
    private readonly HttpContent? content;
    private MediaTypeHeaderValue? contentType;
    private bool? isText;
    private Dictionary<string, IEnumerable<string>>? headers;
    private string? text;
    private Encoding? encoding;
    private string? rawContent;
    private Dictionary<string, string>? relationLink;
    private MemoryStream? rawContentStream;
    private ReadOnlyCollection<PSObject>? links;
    private ReadOnlyCollection<PSObject>? images;
    private ReadOnlyCollection<PSObject>? inputFields;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal CachedResponse(HttpResponseMessage response, byte[] body, CacheResponseInfo? info, string method, string uri)
    {
        this.body = body;
        Method = method;
        Uri = response.RequestMessage?.RequestUri?.AbsoluteUri ?? uri;
        StatusCode = (int)response.StatusCode;
        ReasonPhrase = response.ReasonPhrase ?? string.Empty;
        // Headers, text and raw content are built on first read: a script that keeps only .Content, or pipes
        // the answer to $null, does not pay for the views it never looks at.
        content = response.Content;
        BaseResponse = response;

        if (info is not null)
        {
            FromCache = info.FromCache;
            IsExpired = info.IsExpired;
            Revalidated = info.Revalidated;
            CreatedAt = info.CreatedAt?.LocalDateTime;
            ExpiresAt = info.ExpiresAt?.LocalDateTime;
            CacheKey = info.CacheKey;
            Reason = info.Reason.ToId();
            StoreReason = info.StoreReason?.ToId();
            StaleReason = info.StaleReason;
            Info = info;
        }
        else
        {
            Reason = CacheReason.None.ToId();
        }
    }

    /// <summary>The request method.</summary>
    public string Method { get; }

    /// <summary>The URL that answered (after redirects).</summary>
    public string Uri { get; }

    /// <summary>The HTTP status code.</summary>
    public int StatusCode { get; }

    /// <summary>The status code's name, as Invoke-WebRequest's: OK, NotFound, GatewayTimeout…</summary>
    public string StatusDescription => BaseResponse.StatusCode.ToString();

    /// <summary>The reason phrase the answer came with: OK, Not Found, Not Cached…</summary>
    public string ReasonPhrase { get; }

    /// <summary>Response and content headers, by case-insensitive name, typed as Invoke-WebRequest's.</summary>
    public Dictionary<string, IEnumerable<string>> Headers => headers ??= ReadHeaders(BaseResponse);

    /// <summary>
    /// The body as Invoke-WebRequest gives it: text (decoded by the Content-Type's charset, UTF-8 when it names
    /// none) for text, XML and JSON types; the bytes otherwise.
    /// </summary>
    public object Content => IsText ? Text : body;

    /// <summary>The encoding the text was decoded with; empty when the body is not text.</summary>
    public Encoding? Encoding => IsText ? TextEncoding : null;

    /// <summary>The status line, the headers and the content, as Invoke-WebRequest's RawContent.</summary>
    public string RawContent => rawContent ??= RawHeader(BaseResponse) + (IsText ? Text : AsciiView(body));

    /// <summary>The Link header's relations (next, prev…) to absolute URLs, as Invoke-WebRequest's RelationLink.</summary>
    public Dictionary<string, string> RelationLink => relationLink ??= ParseLinkHeader(BaseResponse, Uri);

    /// <summary>The answer as .NET gave it (already read; headers and status stay readable).</summary>
    public HttpResponseMessage BaseResponse { get; }

    /// <summary>The &lt;a&gt; elements of a text body: outerHTML, tagName and one property per attribute.</summary>
    public ReadOnlyCollection<PSObject> Links => links ??= Elements(LinkRegex(), "A");

    /// <summary>The &lt;img&gt; elements of a text body.</summary>
    public ReadOnlyCollection<PSObject> Images => images ??= Elements(ImageRegex(), "IMG");

    /// <summary>The &lt;input&gt; elements of a text body.</summary>
    public ReadOnlyCollection<PSObject> InputFields => inputFields ??= Elements(InputFieldRegex(), "INPUT");

    /// <summary>The file -OutFile wrote, if any.</summary>
    public string? OutFile { get; internal set; }

    /// <summary>The body's length in bytes.</summary>
    public long RawContentLength => body.LongLength;

    /// <summary>The body's bytes, as a stream positioned at its start (as Invoke-WebRequest's).</summary>
    public MemoryStream RawContentStream => rawContentStream ??= new MemoryStream(body, writable: false);

    /// <summary>True when the answer came from the store (fresh, revalidated, or stale).</summary>
    public bool FromCache { get; }

    /// <summary>True when the stored answer was past its expiration when it was looked up.</summary>
    public bool IsExpired { get; }

    /// <summary>When the stored answer was first stored (local time), if it was.</summary>
    public DateTime? CreatedAt { get; }

    /// <summary>When the stored answer becomes stale (local time); empty when it never does or was not stored.</summary>
    public DateTime? ExpiresAt { get; }

    /// <summary>The cache entry's key, when the cache looked at the request.</summary>
    public string? CacheKey { get; }

    /// <summary>True when the origin confirmed the stored answer with 304 Not Modified.</summary>
    public bool Revalidated { get; }

    /// <summary>Why the cache did what it did: fresh-hit, miss-no-entry, revalidated, only-if-cached-miss…</summary>
    public string Reason { get; }

    /// <summary>What happened to the origin's answer: stored, not-storable-status…; empty when there was none.</summary>
    public string? StoreReason { get; }

    /// <summary>Why a stale answer was served (max-stale, stale-if-error…); empty when the answer was not stale.</summary>
    public string? StaleReason { get; }

    /// <summary>The answer's age (the Age header), when it has one.</summary>
    public TimeSpan? Age => BaseResponse.Headers.Age;

    internal byte[] Body => body;

    /// <summary>The body decoded as text whatever its type: what Invoke-CachedRestMethod and error details read.</summary>
    internal string Text => text ??= Decode(body, ContentType, out encoding);

    private Encoding TextEncoding
    {
        get
        {
            _ = Text;
            return encoding!;
        }
    }

    /// <summary>The Content-Type's media type in lower case (application/json), without its parameters; null when there is none.</summary>
    internal string? MediaType => ContentType?.MediaType is { Length: > 0 } media ? media.ToLowerInvariant() : null;

    /// <summary>True when Invoke-WebRequest would read the body as text (text/*, XML and JSON types).</summary>
    internal bool IsText => isText ??= IsTextType(ContentType?.MediaType);

    /// <summary>The Content-Type, parsed on first read.</summary>
    private MediaTypeHeaderValue? ContentType => contentType ??= content?.Headers.ContentType;

    /// <summary>
    /// How the engine served this answer; the cmdlet writes its diagnostics as verbose and warning messages, and puts
    /// the explanations into words only when they will be shown. Internal: engine types stay out of this assembly's
    /// public types (see <see cref="CacheSession"/>).
    /// </summary>
    internal CacheResponseInfo? Info { get; }

    /// <summary>The content, as Invoke-WebRequest's answer gives it: the text, or an ASCII view of the bytes.</summary>
    public override string ToString() => IsText ? Text : AsciiView(body);

    private static Dictionary<string, IEnumerable<string>> ReadHeaders(HttpResponseMessage response)
    {
        var headers = new Dictionary<string, IEnumerable<string>>(StringComparer.OrdinalIgnoreCase);
        void Add(HttpHeaders source)
        {
            foreach (var (name, values) in source.NonValidated)
            {
                var list = values.ToArray();
                headers[name] = headers.TryGetValue(name, out var existing) ? [.. existing, .. list] : list;
            }
        }

        Add(response.Headers);
        if (response.Content is not null)
        {
            Add(response.Content.Headers);
        }

        return headers;
    }

    private static readonly HashSet<string> TextMediaTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        "application/xml", "application/xml-external-parsed-entity", "application/xml-dtd",
        "application/json", "application/x-javascript", "application/javascript",
    };

    // As Invoke-WebRequest's ContentHelper.IsText: text/*, the XML types and the JSON and JavaScript types.
    private static bool IsTextType(string? mediaType)
    {
        if (string.IsNullOrEmpty(mediaType))
        {
            return false;
        }

        return mediaType.StartsWith("text/", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("+xml", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase)
            || TextMediaTypes.Contains(mediaType);
    }

    // Invoke-WebRequest's status line and header block: "HTTP/1.1 200 OK", one "Name: value" line per value.
    private static string RawHeader(HttpResponseMessage response)
    {
        var raw = new StringBuilder();
        raw.Append("HTTP/").Append(response.Version).Append(' ').Append((int)response.StatusCode).Append(' ').Append(response.StatusCode.ToString()).AppendLine();
        foreach (HttpHeaders? headers in new HttpHeaders?[] { response.Headers, response.Content?.Headers })
        {
            if (headers is null)
            {
                continue;
            }

            foreach (var (name, values) in headers)
            {
                foreach (var value in values)
                {
                    raw.Append(name).Append(": ").Append(value).AppendLine();
                }
            }
        }

        return raw.AppendLine().ToString();
    }

    // Invoke-WebRequest shows bytes as ASCII, control characters other than white space as dots.
    private static string AsciiView(byte[] bytes)
    {
        var chars = Encoding.ASCII.GetChars(bytes);
        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsControl(chars[i]) && !char.IsWhiteSpace(chars[i]))
            {
                chars[i] = '.';
            }
        }

        return new string(chars);
    }

    // RFC 8288 Link header, read as Invoke-WebRequest reads it: the URL in angle brackets and its rel, the first of each rel kept.
    private static Dictionary<string, string> ParseLinkHeader(HttpResponseMessage response, string requestUri)
    {
        var relations = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (response.Headers.TryGetValues("Link", out var values) && System.Uri.TryCreate(requestUri, UriKind.Absolute, out var baseUri))
        {
            foreach (var header in values)
            {
                foreach (Match match in LinkHeaderRegex().Matches(header))
                {
                    var url = match.Groups["url"].Value;
                    var rel = match.Groups["rel"].Value;
                    if (url.Length != 0 && rel.Length != 0 && !relations.ContainsKey(rel) && System.Uri.TryCreate(baseUri, url, out var absolute))
                    {
                        relations.Add(rel, absolute.AbsoluteUri);
                    }
                }
            }
        }

        return relations;
    }

    private ReadOnlyCollection<PSObject> Elements(Regex element, string tagName)
    {
        var found = new List<PSObject>();
        if (IsText)
        {
            foreach (Match match in element.Matches(Text))
            {
                var item = new PSObject();
                item.Properties.Add(new PSNoteProperty("outerHTML", match.Value));
                item.Properties.Add(new PSNoteProperty("tagName", tagName));
                foreach (Match attribute in AttributesRegex().Matches(TagRegex().Match(match.Value).Value))
                {
                    var pair = AttributeNameValueRegex().Match(attribute.Value);
                    var value = pair.Groups[2].Success ? pair.Groups[2].Value
                        : pair.Groups[3].Success ? pair.Groups[3].Value
                        : pair.Groups[4].Success ? pair.Groups[4].Value
                        : null;
                    item.Properties.Add(new PSNoteProperty(pair.Groups[1].Value, value));
                }

                found.Add(item);
            }
        }

        return new ReadOnlyCollection<PSObject>(found);
    }

    // The HTML patterns of Invoke-WebRequest's BasicHtmlWebResponseObject: the same elements and attributes, not a DOM.
    [GeneratedRegex(@"<a\s+[^>]*(/>|>.*?</a>)", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex LinkRegex();

    [GeneratedRegex(@"<img\s[^>]*?>", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex ImageRegex();

    [GeneratedRegex(@"<input\s+[^>]*(/?>|>.*?</input>)", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex InputFieldRegex();

    [GeneratedRegex(@"<\w+((\s+[^""'>/=\s\p{Cc}]+(\s*=\s*(?:"".*?""|'.*?'|[^'"">\s]+))?)+\s*|\s*)/?>", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex TagRegex();

    [GeneratedRegex(@"(?<=\s+)([^""'>/=\s\p{Cc}]+(\s*=\s*(?:"".*?""|'.*?'|[^'"">\s]+))?)", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex AttributesRegex();

    [GeneratedRegex(@"([^""'>/=\s\p{Cc}]+)(?:\s*=\s*(?:""(.*?)""|'(.*?)'|([^'"">\s]+)))?", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex AttributeNameValueRegex();

    [GeneratedRegex("<(?<url>.*?)>;\\s*rel=(?<quoted>\")?(?<rel>(?(quoted).*?|[^,;]*))(?(quoted)\")")]
    private static partial Regex LinkHeaderRegex();

    private static string Decode(byte[] body, MediaTypeHeaderValue? contentType, out Encoding used)
    {
        used = Encoding.UTF8;
        if (body.Length == 0)
        {
            return string.Empty;
        }

        var encoding = Encoding.UTF8;
        var charset = contentType?.CharSet?.Trim('"', '\'', ' ');
        if (!string.IsNullOrEmpty(charset))
        {
            try
            {
                encoding = Encoding.GetEncoding(charset);
            }
            catch (ArgumentException)
            {
                // An unknown charset: UTF-8, as Invoke-WebRequest falls back to its default.
            }
        }

        // A byte order mark wins over the header, as browsers do (and as StreamReader's detection would).
        var (marked, markLength) = ByteOrderMark(body);
        used = marked ?? encoding;
        var skip = marked is not null ? markLength : encoding.Preamble.Length > 0 && body.AsSpan().StartsWith(encoding.Preamble) ? encoding.Preamble.Length : 0;
        return used.GetString(body, skip, body.Length - skip);
    }

    private static (Encoding? Encoding, int Length) ByteOrderMark(ReadOnlySpan<byte> body) => body switch
    {
        [0xEF, 0xBB, 0xBF, ..] => (Encoding.UTF8, 3),
        [0xFF, 0xFE, 0x00, 0x00, ..] => (Encoding.UTF32, 4),
        [0xFF, 0xFE, ..] => (Encoding.Unicode, 2),
        [0xFE, 0xFF, ..] => (Encoding.BigEndianUnicode, 2),
        [0x00, 0x00, 0xFE, 0xFF, ..] => (new UTF32Encoding(bigEndian: true, byteOrderMark: true), 4),
        _ => (null, 0),
    };
}
