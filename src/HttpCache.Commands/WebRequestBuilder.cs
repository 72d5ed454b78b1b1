using System.Collections;
using System.Management.Automation;
using System.Net.Http.Headers;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using System.Xml;

namespace HttpCache.Commands;

/// <summary>
/// Builds the <see cref="HttpRequestMessage"/> of Invoke-CachedWebRequest from Invoke-WebRequest's
/// parameters. It checks what it is given and says what is wrong, but knows nothing of caching.
/// </summary>
internal static class WebRequestBuilder
{
    /// <summary>The User-Agent sent when neither -UserAgent nor -Headers gives one.</summary>
    public static readonly string DefaultUserAgent =
        $"Mozilla/5.0 (compatible; HttpCache/{typeof(WebRequestBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0"}; PowerShell)";

    /// <summary>
    /// Reads -Uri: an absolute http or https URL, or null with the reason in <paramref name="error"/>. Text that
    /// is not an absolute URL gets http:// in front, as Invoke-WebRequest does (<c>example.com/x</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Uri? ParseUri(string? text, out string error)
    {
        error = string.Empty;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "it is empty.";
            return null;
        }

        var trimmed = text.Trim();
        if (!Uri.TryCreate(trimmed, UriKind.Absolute, out var uri)
            && (trimmed.Contains("://", StringComparison.Ordinal) || trimmed.StartsWith('/') || !Uri.TryCreate("http://" + trimmed, UriKind.Absolute, out uri)))
        {
            error = "it cannot be parsed.";
            return null;
        }

        // On Unix a rooted path ('/index.html') parses as an absolute file:// URI. An http or https URL without a
        // host does not parse at all ('http:///x', 'http://:80/'), so the scheme is all left to check.
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
        {
            error = uri.IsFile ? "it is a file path, not a URL." : $"the scheme '{uri.Scheme}' is not http or https.";
            return null;
        }

        return uri;
    }

    /// <summary>Builds the request from every part Invoke-WebRequest takes. Throws <see cref="ArgumentException"/> for one it cannot send.</summary>
    public static HttpRequestMessage Build(WebRequestParts parts)
    {
        var method = parts.Method;
        var contentType = parts.ContentType;
        var request = new HttpRequestMessage(method, parts.Uri);
        if (parts.HttpVersion is { } version)
        {
            request.Version = version;
        }

        try
        {
            var contentHeaders = new List<KeyValuePair<string, string[]>>();
            if (parts.Headers is not null)
            {
                foreach (DictionaryEntry entry in parts.Headers)
                {
                    var name = Unwrap(entry.Key)?.ToString();
                    if (string.IsNullOrWhiteSpace(name))
                    {
                        throw new ArgumentException("-Headers has an empty header name.");
                    }

                    if (Unwrap(entry.Value) is null)
                    {
                        // As Invoke-WebRequest: a header whose value is null is left out.
                        continue;
                    }

                    var values = Values(entry.Value);
                    if (string.Equals(name, "Content-Type", StringComparison.OrdinalIgnoreCase))
                    {
                        // -ContentType wins, as in Invoke-WebRequest.
                        contentType ??= values.FirstOrDefault();
                    }
                    else if (IsContentHeader(name))
                    {
                        // Content-Language, Content-Encoding…: they travel with the body.
                        contentHeaders.Add(new(name, values));
                    }
                    else
                    {
                        AddHeader(request.Headers, name, values, parts.SkipHeaderValidation);
                    }
                }
            }

            if (!string.IsNullOrEmpty(parts.UserAgent))
            {
                request.Headers.Remove("User-Agent");
                AddHeader(request.Headers, "User-Agent", [parts.UserAgent], parts.SkipHeaderValidation);
            }
            else if (!request.Headers.Contains("User-Agent"))
            {
                request.Headers.TryAddWithoutValidation("User-Agent", DefaultUserAgent);
            }

            if (parts.Cookie is { Length: > 0 } cookie && !request.Headers.Contains("Cookie"))
            {
                request.Headers.TryAddWithoutValidation("Cookie", cookie);
            }

            if (parts.DisableKeepAlive)
            {
                request.Headers.ConnectionClose = true;
            }

            if (parts.TransferEncoding is { } transferEncoding)
            {
                request.Headers.TransferEncodingChunked = true;
                var coding = new TransferCodingHeaderValue(transferEncoding);
                if (!request.Headers.TransferEncoding.Contains(coding))
                {
                    request.Headers.TransferEncoding.Add(coding);
                }
            }

            if (parts.RangeFrom is { } from)
            {
                request.Headers.Range = new RangeHeaderValue(from, null);
            }

            request.Content = parts.Form is not null ? Multipart(parts.Form)
                : parts.InFile is not null ? new StreamContent(new FileStream(parts.InFile, FileMode.Open, FileAccess.Read, FileShare.Read))
                : Content(method, Unwrap(parts.Body), contentType);

            // As Invoke-WebRequest: every request but a GET without -ContentType carries content, empty if need be.
            if (request.Content is null && (method != HttpMethod.Get || contentType is not null))
            {
                request.Content = new ByteArrayContent([]);
                request.Content.Headers.ContentType = DefaultContentType(method, contentType);
            }
            else if (request.Content is not null && parts.Form is null && request.Content.Headers.ContentType is null)
            {
                request.Content.Headers.ContentType = DefaultContentType(method, contentType);
            }

            if (request.Content is not null)
            {
                foreach (var (name, values) in contentHeaders)
                {
                    request.Content.Headers.Remove(name);
                    if (!request.Content.Headers.TryAddWithoutValidation(name, values))
                    {
                        throw new ArgumentException($"The header '{name}' cannot be sent.");
                    }
                }
            }

            return request;
        }
        catch
        {
            request.Dispose();
            throw;
        }
    }

    /// <summary>The URL with a dictionary body as its query, as Invoke-WebRequest sends a GET's -Body.</summary>
    public static Uri WithQuery(Uri uri, IDictionary fields)
    {
        var query = new StringBuilder();
        foreach (DictionaryEntry entry in fields)
        {
            if (query.Length > 0)
            {
                query.Append('&');
            }

            var value = Unwrap(entry.Value);
            query.Append(System.Net.WebUtility.UrlEncode(Unwrap(entry.Key)?.ToString())).Append('=').Append(value is null ? string.Empty : System.Net.WebUtility.UrlEncode(value.ToString()));
        }

        var builder = new UriBuilder(uri);
        builder.Query = builder.Query.Length > 1 ? builder.Query[1..] + "&" + query : query.ToString();
        return builder.Uri;
    }

    private static bool IsContentHeader(string name) => name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Expires", StringComparison.OrdinalIgnoreCase) || name.Equals("Last-Modified", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Allow", StringComparison.OrdinalIgnoreCase);

    private static void AddHeader(HttpHeaders headers, string name, string[] values, bool skipValidation)
    {
        if (skipValidation)
        {
            headers.TryAddWithoutValidation(name, values);
            return;
        }

        try
        {
            headers.Add(name, values);
        }
        catch (FormatException ex)
        {
            throw new ArgumentException($"The header '{name}: {string.Join(", ", values)}' is not valid ({ex.Message}); use -SkipHeaderValidation to send it as it is.", ex);
        }
    }

    // Invoke-WebRequest gives a POST's or PUT's body the form type unless told otherwise; other methods none.
    private static MediaTypeHeaderValue? DefaultContentType(HttpMethod method, string? contentType)
    {
        if (!string.IsNullOrWhiteSpace(contentType))
        {
            return MediaTypeHeaderValue.TryParse(contentType, out var given) ? given
                : throw new ArgumentException($"-ContentType '{contentType}' is not a media type such as 'application/json; charset=utf-8'.");
        }

        return method == HttpMethod.Post || method == HttpMethod.Put ? new MediaTypeHeaderValue("application/x-www-form-urlencoded") : null;
    }

    // -Form as Invoke-WebRequest sends it: one part per value, a FileInfo as a file part, a list as several parts.
    private static MultipartFormDataContent Multipart(IDictionary form)
    {
        var content = new MultipartFormDataContent();
        foreach (DictionaryEntry entry in form)
        {
            var name = LanguagePrimitives.ConvertTo<string>(Unwrap(entry.Key));
            var value = Unwrap(entry.Value);
            if (value is not string and not FileInfo && value is IEnumerable many)
            {
                foreach (var item in many)
                {
                    content.Add(Part(name, Unwrap(item)));
                }
            }
            else
            {
                content.Add(Part(name, value));
            }
        }

        return content;
    }

    private static HttpContent Part(string name, object? value)
    {
        if (value is FileInfo file)
        {
            var part = new StreamContent(new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read));
            part.Headers.ContentDisposition = new ContentDispositionHeaderValue("form-data") { Name = name, FileName = file.Name, FileNameStar = file.Name };
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            return part;
        }

        var text = new StringContent(LanguagePrimitives.ConvertTo<string>(value));
        text.Headers.ContentDisposition = new ContentDispositionHeaderValue("form-data") { Name = name };
        return text;
    }

    private static HttpContent? Content(HttpMethod method, object? body, string? contentType)
    {
        if (body is null)
        {
            return null;
        }

        MediaTypeHeaderValue? mediaType = null;
        if (!string.IsNullOrWhiteSpace(contentType) && !MediaTypeHeaderValue.TryParse(contentType, out mediaType))
        {
            throw new ArgumentException($"-ContentType '{contentType}' is not a media type such as 'application/json; charset=utf-8'.");
        }

        HttpContent content;
        switch (body)
        {
            case byte[] bytes:
                content = new ByteArrayContent(bytes);
                break;
            case Stream stream:
                content = new StreamContent(stream);
                break;
            case XmlNode xml:
                var declared = (xml as XmlDocument)?.FirstChild is XmlDeclaration { Encoding.Length: > 0 } declaration ? Encoding.GetEncoding(declaration.Encoding) : Encoding.UTF8;
                content = new ByteArrayContent(declared.GetBytes(xml is XmlDocument document ? document.OuterXml : xml.OuterXml));
                break;
            case IDictionary form:
                content = new FormUrlEncodedContent(FormFields(form));
                content.Headers.ContentType = null;
                break;
            default:
                var text = LanguagePrimitives.ConvertTo<string>(body) ?? string.Empty;
                var encoding = Encoding.UTF8;
                if (mediaType?.CharSet is { Length: > 0 } charset)
                {
                    try
                    {
                        encoding = Encoding.GetEncoding(charset.Trim('"'));
                    }
                    catch (ArgumentException)
                    {
                        throw new ArgumentException($"-ContentType names the charset '{charset}', which this system does not know.");
                    }
                }

                content = new ByteArrayContent(encoding.GetBytes(text));
                break;
        }

        content.Headers.ContentType = DefaultContentType(method, contentType);
        return content;
    }

    private static IEnumerable<KeyValuePair<string, string>> FormFields(IDictionary form)
    {
        foreach (DictionaryEntry entry in form)
        {
            var name = Unwrap(entry.Key)?.ToString() ?? string.Empty;
            foreach (var value in Values(entry.Value))
            {
                yield return new(name, value);
            }
        }
    }

    private static string[] Values(object? value)
    {
        value = Unwrap(value);
        if (value is null)
        {
            return [string.Empty];
        }

        if (value is string text)
        {
            return [text];
        }

        if (value is IEnumerable many)
        {
            return many.Cast<object?>().Select(v => Unwrap(v)?.ToString() ?? string.Empty).ToArray();
        }

        return [value.ToString() ?? string.Empty];
    }

    private static object? Unwrap(object? value) => value is PSObject wrapped ? wrapped.BaseObject : value;
}

/// <summary>Everything a request is built from: Invoke-WebRequest's parameters after the session's are merged in.</summary>
internal sealed record WebRequestParts(HttpMethod Method, Uri Uri)
{
    public IDictionary? Headers { get; init; }

    public object? Body { get; init; }

    public IDictionary? Form { get; init; }

    /// <summary>A resolved file path.</summary>
    public string? InFile { get; init; }

    public string? ContentType { get; init; }

    public string? UserAgent { get; init; }

    public string? TransferEncoding { get; init; }

    public bool SkipHeaderValidation { get; init; }

    public bool DisableKeepAlive { get; init; }

    public Version? HttpVersion { get; init; }

    /// <summary>The Cookie header from a WebSession's cookie jar.</summary>
    public string? Cookie { get; init; }

    /// <summary>-Resume: the bytes already in -OutFile, asked for from this offset on.</summary>
    public long? RangeFrom { get; init; }
}
