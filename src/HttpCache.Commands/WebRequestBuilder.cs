using System.Collections;
using System.Management.Automation;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text;

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

    /// <summary>Reads -Uri: an absolute http or https URL, or null with the reason in <paramref name="error"/>.</summary>
    public static Uri? ParseUri(string? text, out string error)
    {
        error = string.Empty;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "it is empty.";
            return null;
        }

        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri))
        {
            error = Uri.TryCreate(text.Trim(), UriKind.Relative, out _) ? "it is relative." : "it cannot be parsed.";
            return null;
        }

        // On Unix a rooted path ('/index.html') parses as an absolute file:// URI.
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
        {
            error = uri.IsFile ? "it is a file path, not a URL." : $"the scheme '{uri.Scheme}' is not http or https.";
            return null;
        }

        if (string.IsNullOrEmpty(uri.Host))
        {
            error = "it has no host.";
            return null;
        }

        return uri;
    }

    /// <summary>Builds the request. Throws <see cref="ArgumentException"/> for a header or body it cannot send.</summary>
    public static HttpRequestMessage Build(HttpMethod method, Uri uri, IDictionary? headers, object? body, string? contentType, string? userAgent)
    {
        var request = new HttpRequestMessage(method, uri);
        try
        {
            var contentHeaders = new List<KeyValuePair<string, string[]>>();
            if (headers is not null)
            {
                foreach (DictionaryEntry entry in headers)
                {
                    var name = Unwrap(entry.Key)?.ToString();
                    if (string.IsNullOrWhiteSpace(name))
                    {
                        throw new ArgumentException("-Headers has an empty header name.");
                    }

                    var values = Values(entry.Value);
                    if (string.Equals(name, "Content-Type", StringComparison.OrdinalIgnoreCase))
                    {
                        // -ContentType wins, as in Invoke-WebRequest.
                        contentType ??= values.FirstOrDefault();
                    }
                    else if (!request.Headers.TryAddWithoutValidation(name, values))
                    {
                        // Content-Language, Content-Encoding…: they travel with the body.
                        contentHeaders.Add(new(name, values));
                    }
                }
            }

            if (!string.IsNullOrEmpty(userAgent))
            {
                request.Headers.Remove("User-Agent");
                request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
            }
            else if (!request.Headers.Contains("User-Agent"))
            {
                request.Headers.TryAddWithoutValidation("User-Agent", DefaultUserAgent);
            }

            request.Content = Content(method, Unwrap(body), contentType);
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
                content.Headers.ContentType = mediaType ?? new MediaTypeHeaderValue("application/octet-stream");
                break;
            case IDictionary form:
                content = new FormUrlEncodedContent(FormFields(form));
                if (mediaType is not null)
                {
                    content.Headers.ContentType = mediaType;
                }

                break;
            default:
                var text = body.ToString() ?? string.Empty;
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
                content.Headers.ContentType = mediaType
                    // As Invoke-WebRequest: a POST body without a type is a form.
                    ?? (method == HttpMethod.Post
                        ? new MediaTypeHeaderValue("application/x-www-form-urlencoded")
                        : new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" });
                break;
        }

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
