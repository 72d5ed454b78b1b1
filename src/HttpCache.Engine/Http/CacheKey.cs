using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace HttpCache.Engine.Http;

/// <summary>
/// Cache keys, stable across processes, runs and machines (documented in docs/ARCHITECTURE.md).
/// The primary key identifies a method and a resource; a variant key adds the request header values
/// the stored response's Vary names.
/// </summary>
/// <remarks>
/// primary = first 16 bytes, lower-case hex, of SHA-256 over UTF-8
/// <c>METHOD \x1e normalized-URL \x1e body-digest</c>; body-digest is the SHA-256 hex of the request
/// body, or empty when there is none. Variant = <c>primary</c> when the response varies on nothing,
/// else <c>primary "." first 8 bytes hex of SHA-256 over (name \x1f value \x1e)*</c>, names lower-case.
/// \x1e and \x1f cannot occur in a URL or a header value, so no two different inputs join alike.
/// </remarks>
public static class CacheKey
{
    private const char Record = '\x1e';
    private const char Unit = '\x1f';

    /// <summary>The marker that replaces a secret wherever a request is stored (as requests-cache).</summary>
    public const string Redacted = "REDACTED";

    /// <summary>requests-cache's limit on bodies normalized before hashing; larger ones are hashed as they are.</summary>
    public const int MaxNormalizedBodySize = 10 * 1024 * 1024;

    /// <summary>The primary key of a request.</summary>
    public static string Primary(string method, Uri uri, byte[]? body) => Primary(method, uri, body, null, null);

    /// <summary>
    /// The primary key of a request, with <paramref name="ignored"/> query parameters and JSON/form body
    /// fields left out (so their presence or value never changes the key).
    /// </summary>
    public static string Primary(string method, Uri uri, byte[]? body, string? contentType, IReadOnlySet<string>? ignored)
    {
        var bodyDigest = body is { Length: > 0 } ? LowerHex(SHA256.HashData(NormalizeBody(body, contentType, ignored))) : string.Empty;
        return Hash(string.Concat(method.ToUpperInvariant(), Record.ToString(), NormalizeUrl(uri, ignored), Record.ToString(), bodyDigest), 16);
    }

    /// <summary>The URL with the values of ignored query parameters replaced by REDACTED, for storing and showing.</summary>
    public static string RedactUrl(Uri uri, IReadOnlySet<string> ignored)
    {
        var query = uri.Query;
        if (query.Length <= 1 || ignored.Count == 0)
        {
            return uri.AbsoluteUri;
        }

        var parameters = query[1..].Split('&');
        var redacted = false;
        for (var i = 0; i < parameters.Length; i++)
        {
            if (IsIgnored(parameters[i], ignored))
            {
                var equals = parameters[i].IndexOf('=');
                parameters[i] = (equals < 0 ? parameters[i] : parameters[i][..equals]) + "=" + Redacted;
                redacted = true;
            }
        }

        if (!redacted)
        {
            // Nothing secret in it (the usual case): no need to build the URL again.
            return uri.AbsoluteUri;
        }

        var builder = new UriBuilder(uri) { Query = string.Join('&', parameters) };
        return builder.Uri.AbsoluteUri;
    }

    /// <summary>
    /// The body as the key sees it: JSON objects without ignored fields and with sorted keys; form data
    /// without ignored fields and with sorted pairs; anything else as it is.
    /// </summary>
    public static byte[] NormalizeBody(byte[] body, string? contentType, IReadOnlySet<string>? ignored)
    {
        if (body.Length > MaxNormalizedBodySize)
        {
            return body;
        }

        var media = contentType?.Split(';')[0].Trim() ?? string.Empty;
        if (media.EndsWith("json", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var node = System.Text.Json.Nodes.JsonNode.Parse(body);
                return node is null ? body : Encoding.UTF8.GetBytes(CanonicalJson(node, ignored));
            }
            catch (System.Text.Json.JsonException)
            {
                return body;
            }
        }

        if (media.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            var pairs = Encoding.UTF8.GetString(body).Split('&', StringSplitOptions.RemoveEmptyEntries)
                .Where(p => ignored is null || !ignored.Contains(Uri.UnescapeDataString(p.Split('=')[0].Replace('+', ' '))))
                .Order(StringComparer.Ordinal);
            return Encoding.UTF8.GetBytes(string.Join('&', pairs));
        }

        return body;
    }

    private static string CanonicalJson(System.Text.Json.Nodes.JsonNode? node, IReadOnlySet<string>? ignored) => node switch
    {
        System.Text.Json.Nodes.JsonObject obj => "{" + string.Join(",", obj
            .Where(p => ignored is null || !ignored.Contains(p.Key))
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => System.Text.Json.JsonSerializer.Serialize(p.Key) + ":" + CanonicalJson(p.Value, ignored))) + "}",
        System.Text.Json.Nodes.JsonArray array => "[" + string.Join(",", array.Select(item => CanonicalJson(item, ignored))) + "]",
        null => "null",
        _ => node.ToJsonString(),
    };

    /// <summary>The key of one variant: the primary key when <paramref name="varyValues"/> is empty.</summary>
    public static string Variant(string primaryKey, IReadOnlyList<KeyValuePair<string, string>> varyValues)
    {
        if (varyValues.Count == 0)
        {
            return primaryKey;
        }

        var builder = new StringBuilder();
        foreach (var (name, value) in varyValues.OrderBy(v => v.Key, StringComparer.OrdinalIgnoreCase))
        {
            builder.Append(name.ToLowerInvariant()).Append(Unit).Append(value).Append(Record);
        }

        return primaryKey + "." + Hash(builder.ToString(), 8);
    }

    /// <summary>
    /// The URL as keys see it: scheme and host lower case, the default port dropped, the query's
    /// parameters sorted (their encoding kept), the fragment dropped. The path keeps its case.
    /// </summary>
    public static string NormalizeUrl(Uri uri) => NormalizeUrl(uri, null);

    /// <summary>The normalized URL without the <paramref name="ignored"/> query parameters.</summary>
    public static string NormalizeUrl(Uri uri, IReadOnlySet<string>? ignored)
    {
        if (!uri.IsAbsoluteUri)
        {
            throw new ArgumentException($"'{uri}' is not an absolute URL.", nameof(uri));
        }

        var builder = new StringBuilder(uri.OriginalString.Length);
        builder.Append(uri.Scheme.ToLowerInvariant()).Append("://").Append(uri.Host.ToLowerInvariant());
        if (!uri.IsDefaultPort)
        {
            builder.Append(':').Append(uri.Port);
        }

        builder.Append(uri.AbsolutePath);
        var query = uri.Query;
        if (query.Length > 1)
        {
            var parameters = query[1..].Split('&', StringSplitOptions.RemoveEmptyEntries);
            var kept = parameters.Length;
            if (ignored is { Count: > 0 })
            {
                kept = 0;
                foreach (var parameter in parameters)
                {
                    if (!IsIgnored(parameter, ignored))
                    {
                        parameters[kept++] = parameter;
                    }
                }
            }

            Array.Sort(parameters, 0, kept, StringComparer.Ordinal);
            for (var i = 0; i < kept; i++)
            {
                builder.Append(i == 0 ? '?' : '&').Append(parameters[i]);
            }
        }

        return builder.ToString();
    }

    // A parameter's name is what comes before its first '=', unescaped.
    private static bool IsIgnored(string parameter, IReadOnlySet<string> ignored)
    {
        var equals = parameter.IndexOf('=');
        return ignored.Contains(Uri.UnescapeDataString(equals < 0 ? parameter : parameter[..equals]));
    }

    private static string Hash(string text, int bytes)
    {
        // Keys are computed on every request: the text is encoded without a heap copy when it is short.
        var length = Encoding.UTF8.GetMaxByteCount(text.Length);
        var rented = length > 1024 ? ArrayPool<byte>.Shared.Rent(length) : null;
        try
        {
            Span<byte> utf8 = rented is null ? stackalloc byte[1024] : rented;
            var written = Encoding.UTF8.GetBytes(text, utf8);
            Span<byte> digest = stackalloc byte[32];
            SHA256.HashData(utf8[..written], digest);
            return LowerHex(digest[..bytes]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static string LowerHex(ReadOnlySpan<byte> bytes)
    {
        Span<char> chars = stackalloc char[bytes.Length * 2];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[2 * i] = "0123456789abcdef"[bytes[i] >> 4];
            chars[(2 * i) + 1] = "0123456789abcdef"[bytes[i] & 0xF];
        }

        return new string(chars);
    }
}
