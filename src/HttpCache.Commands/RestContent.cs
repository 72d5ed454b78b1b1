using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Net.Http.Headers;
using System.Numerics;
using System.Text.Json;
using System.Xml;

namespace HttpCache.Commands;

/// <summary>What an answer's body became, for Invoke-CachedRestMethod.</summary>
/// <param name="HasValue">False for an empty body: nothing is output, as Invoke-RestMethod.</param>
/// <param name="Value">The converted value.</param>
/// <param name="Kind">Json, Xml or Text: how it was read.</param>
internal readonly record struct RestValue(bool HasValue, object? Value, string Kind);

/// <summary>
/// Turns a body into what Invoke-RestMethod would give: JSON into PSCustomObjects, arrays and values, XML into
/// an <see cref="XmlDocument"/>, anything else into its text. Built by hand on System.Text.Json, so it needs
/// neither ConvertFrom-Json nor Newtonsoft.Json. Pure: tests call it through the cmdlet.
/// </summary>
internal static class RestContent
{
    private static readonly JsonDocumentOptions JsonOptions = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
        MaxDepth = 1024,
    };

    /// <summary>Reads the body by its Content-Type: JSON, XML, or text; when the type says neither, by its first character.</summary>
    public static RestValue Convert(string content, string? contentType)
    {
        if (string.IsNullOrWhiteSpace(content))
        {
            return content.Length == 0 ? new RestValue(false, null, "Text") : new RestValue(true, content, "Text");
        }

        if (TryFeed(content, out var items))
        {
            return new RestValue(true, items, "Feed");
        }

        var mediaType = MediaType(contentType);
        if (IsJson(mediaType))
        {
            return TryJson(content, out var json) ? new RestValue(true, json, "Json") : new RestValue(true, content, "Text");
        }

        if (IsXml(mediaType))
        {
            return TryXml(content, out var xml) ? new RestValue(true, xml, "Xml") : new RestValue(true, content, "Text");
        }

        if (mediaType is null or "text/plain" or "application/octet-stream")
        {
            // No useful type: as Invoke-RestMethod, try JSON, then XML, then keep the text.
            var first = content.TrimStart()[0];
            if ((first is '{' or '[' or '"') && TryJson(content, out var json))
            {
                return new RestValue(true, json, "Json");
            }

            if (first == '<' && TryXml(content, out var xml))
            {
                return new RestValue(true, xml, "Xml");
            }
        }

        return new RestValue(true, content, "Text");
    }

    /// <summary>
    /// An RSS or Atom feed, whatever its Content-Type, as Invoke-RestMethod reads one: an <c>rss</c> or <c>feed</c>
    /// element among the first ten nodes, and then every <c>item</c> or <c>entry</c> element as its own XmlNode.
    /// </summary>
    public static bool TryFeed(string text, out object?[] items)
    {
        items = [];
        if (!text.TrimStart('\uFEFF', ' ', '\t', '\r', '\n').StartsWith('<'))
        {
            return false;
        }

        try
        {
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore, XmlResolver = null };
            using var reader = XmlReader.Create(new StringReader(text), settings);
            var isFeed = false;
            for (var read = 0; read < 10 && reader.Read(); read++)
            {
                if (reader.Name.Equals("rss", StringComparison.OrdinalIgnoreCase) || reader.Name.Equals("feed", StringComparison.OrdinalIgnoreCase))
                {
                    isFeed = true;
                    break;
                }
            }

            if (!isFeed)
            {
                return false;
            }

            var document = new XmlDocument { XmlResolver = null };
            var found = new List<object?>();
            reader.Read();
            while (!reader.EOF)
            {
                if (reader.NodeType == XmlNodeType.Element
                    && (reader.Name.Equals("item", StringComparison.OrdinalIgnoreCase) || reader.Name.Equals("entry", StringComparison.OrdinalIgnoreCase)))
                {
                    found.Add(document.ReadNode(reader));
                }
                else
                {
                    reader.Read();
                }
            }

            items = [.. found];
            return true;
        }
        catch (XmlException)
        {
            return false;
        }
    }

    /// <summary>Parses JSON text into PowerShell values; false when it is not JSON.</summary>
    public static bool TryJson(string text, out object? value)
    {
        try
        {
            using var document = JsonDocument.Parse(text, JsonOptions);
            value = FromElement(document.RootElement);
            return true;
        }
        catch (JsonException)
        {
            value = null;
            return false;
        }
    }

    /// <summary>Parses XML text into a document, with DTDs ignored and no external resolution; false when it is not XML.</summary>
    public static bool TryXml(string text, out XmlDocument? document)
    {
        try
        {
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore, XmlResolver = null };
            using var reader = XmlReader.Create(new StringReader(text), settings);
            document = new XmlDocument { XmlResolver = null };
            document.Load(reader);
            return true;
        }
        catch (XmlException)
        {
            document = null;
            return false;
        }
    }

    /// <summary>
    /// One JSON value: an object becomes a PSCustomObject (its properties in document order), or an ordered
    /// case-sensitive hashtable when its names cannot be PowerShell properties (two differ only by case, or one
    /// is empty); an array becomes object[]; numbers become int, long, BigInteger or double as ConvertFrom-Json
    /// gives them; strings stay strings.
    /// </summary>
    private static object? FromElement(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                var asProperties = true;
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name.Length == 0 || !names.Add(property.Name))
                    {
                        asProperties = false;
                        break;
                    }
                }

                if (asProperties)
                {
                    var result = new PSObject();
                    foreach (var property in element.EnumerateObject())
                    {
                        result.Properties.Add(new PSNoteProperty(property.Name, FromElement(property.Value)));
                    }

                    return result;
                }

                var table = new Hashtable(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    table[property.Name] = FromElement(property.Value);
                }

                return table;
            case JsonValueKind.Array:
                var items = new object?[element.GetArrayLength()];
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    items[i++] = FromElement(item);
                }

                return items;
            case JsonValueKind.String:
                return element.GetString();
            case JsonValueKind.Number:
                return Number(element);
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            default:
                return null;
        }
    }

    private static object Number(JsonElement element)
    {
        var raw = element.GetRawText();
        if (raw.AsSpan().IndexOfAny(".eE") < 0)
        {
            if (element.TryGetInt32(out var small))
            {
                return small;
            }

            if (element.TryGetInt64(out var large))
            {
                return large;
            }

            return BigInteger.Parse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        }

        return element.GetDouble();
    }

    private static string? MediaType(string? contentType) =>
        !string.IsNullOrWhiteSpace(contentType) && MediaTypeHeaderValue.TryParse(contentType, out var parsed) && parsed.MediaType is { Length: > 0 } media
            ? media.ToLowerInvariant()
            : null;

    private static bool IsJson(string? mediaType) =>
        mediaType is "application/json" or "text/json" or "application/x-javascript" or "text/javascript" or "application/javascript"
        || (mediaType?.EndsWith("+json", StringComparison.Ordinal) ?? false);

    private static bool IsXml(string? mediaType) =>
        mediaType is "application/xml" or "text/xml"
        || (mediaType?.EndsWith("+xml", StringComparison.Ordinal) ?? false);
}
