using System.Management.Automation;
using System.Reflection;
using System.Xml;

namespace HttpCache.Commands;

/// <summary>What an answer's body became, for Invoke-CachedRestMethod.</summary>
/// <param name="HasValue">False for an empty body: nothing is output, as Invoke-RestMethod.</param>
/// <param name="Value">The converted value.</param>
/// <param name="Kind">Json, Xml or Text: how it was read.</param>
internal readonly record struct RestValue(bool HasValue, object? Value, string Kind);

/// <summary>
/// Turns a body into what Invoke-RestMethod would give: JSON into PSCustomObjects, arrays and values, XML into
/// an <see cref="XmlDocument"/>, anything else into its text. JSON goes through PowerShell's own converter, so the
/// objects are those Invoke-RestMethod gives. Tests call it through the cmdlet.
/// </summary>
internal static class RestContent
{
    // Converted JSON by cache key, with the body it came from: a hit on the same stored body gets new objects built from
    // the kept shape instead of a second parse. Bounded in entries and bytes; past either bound it starts again.
    private const int ReusableBodyLimit = 64 * 1024;
    private const int ReusedEntriesLimit = 1024;
    private const long ReusedBytesLimit = 16 * 1024 * 1024;
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (byte[] Body, object? Shape)> Converted = new(StringComparer.Ordinal);
    private static long convertedBytes;

    private delegate object? ConvertFromJson(string input, out ErrorRecord? error);

    // Microsoft.PowerShell.Commands.Utility is not in the compile-time surface (PowerShellStandard.Library), but every
    // PowerShell 7 host has it loaded: the delegate is bound once.
    private static readonly Lazy<ConvertFromJson> PowerShellJson = new(() =>
    {
        var type = Type.GetType("Microsoft.PowerShell.Commands.JsonObject, Microsoft.PowerShell.Commands.Utility", throwOnError: true)!;
        var method = type.GetMethod("ConvertFromJson", BindingFlags.Public | BindingFlags.Static, [typeof(string), typeof(ErrorRecord).MakeByRefType()])
            ?? throw new MissingMethodException(type.FullName, "ConvertFromJson");
        return method.CreateDelegate<ConvertFromJson>();
    });

    /// <summary>
    /// <see cref="Convert"/> for a body the cache keyed: JSON already converted from the same bytes under the same key
    /// is built again from its kept shape (new objects and arrays, the same immutable values) rather than parsed again.
    /// </summary>
    public static RestValue Convert(string cacheKey, byte[] body, Func<string> text, string? mediaType)
    {
        if (body.Length > ReusableBodyLimit)
        {
            return Convert(text(), mediaType);
        }

        if (Converted.TryGetValue(cacheKey, out var known) && known.Body.AsSpan().SequenceEqual(body))
        {
            return new RestValue(true, Build(known.Shape), "Json");
        }

        var converted = Convert(text(), mediaType);
        if (converted.Kind == "Json" && IsCopyable(converted.Value))
        {
            if (Converted.Count >= ReusedEntriesLimit || Interlocked.Add(ref convertedBytes, body.Length) > ReusedBytesLimit)
            {
                Converted.Clear();
                Interlocked.Exchange(ref convertedBytes, body.Length);
            }

            Converted[cacheKey] = (body.ToArray(), Shape(converted.Value));
        }

        return converted;
    }

    /// <summary>True when JSON converted under this cache key is kept for reuse (tests).</summary>
    internal static bool HasConverted(string cacheKey) => Converted.ContainsKey(cacheKey);

    // What PowerShell's JSON converter gives: PSCustomObjects, object[] arrays and immutable values. Anything else is
    // never kept, so what is built from a shape can never share something the caller could change.
    private static bool IsCopyable(object? value) => value switch
    {
        null or string or bool or long or int or double or decimal or DateTime or DateTimeOffset or System.Numerics.BigInteger => true,
        PSObject { BaseObject: PSCustomObject } custom => custom.Properties.All(p => p is PSNoteProperty && IsCopyable(p.Value)),
        object?[] array => array.All(IsCopyable),
        _ => false,
    };

    // An object's property names and the shapes of their values, read once: building from it does not go through
    // PSObject's member lookup (its adapters and type data), which costs more than the building itself.
    private sealed class ObjectShape(string[] names, object?[] values)
    {
        public string[] Names { get; } = names;

        public object?[] Values { get; } = values;
    }

    // Objects become ObjectShapes, arrays arrays of shapes; values stay as they are (no JSON value is an object?[] or
    // an ObjectShape, so nothing is taken for another).
    private static object? Shape(object? value)
    {
        switch (value)
        {
            case PSObject { BaseObject: PSCustomObject } custom:
                var properties = custom.Properties.ToList();
                var names = new string[properties.Count];
                var values = new object?[properties.Count];
                for (var i = 0; i < properties.Count; i++)
                {
                    names[i] = properties[i].Name;
                    values[i] = Shape(properties[i].Value);
                }

                return new ObjectShape(names, values);
            case object?[] array:
                var items = new object?[array.Length];
                for (var i = 0; i < array.Length; i++)
                {
                    items[i] = Shape(array[i]);
                }

                return items;
            default:
                return value;
        }
    }

    private static object? Build(object? shape)
    {
        switch (shape)
        {
            case ObjectShape custom:
                var built = new PSObject();
                for (var i = 0; i < custom.Names.Length; i++)
                {
                    // Pre-validated: PowerShell's converter accepted these names on this object when it made the original.
                    built.Properties.Add(new PSNoteProperty(custom.Names[i], Build(custom.Values[i])), preValidated: true);
                }

                return built;
            case object?[] array:
                var items = new object?[array.Length];
                for (var i = 0; i < array.Length; i++)
                {
                    items[i] = Build(array[i]);
                }

                return items;
            default:
                return shape;
        }
    }

    /// <summary>Reads the body by its media type (lower case, no parameters): JSON, XML, or text; when the type says neither, by its first character.</summary>
    public static RestValue Convert(string content, string? mediaType)
    {
        if (string.IsNullOrWhiteSpace(content))
        {
            return content.Length == 0 ? new RestValue(false, null, "Text") : new RestValue(true, content, "Text");
        }

        if (TryFeed(content, out var items))
        {
            return new RestValue(true, items, "Feed");
        }

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
        if (!text.AsSpan().TrimStart("\uFEFF \t\r\n").StartsWith("<", StringComparison.Ordinal))
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

    /// <summary>
    /// Parses JSON text into PowerShell values with PowerShell's own converter (JsonObject.ConvertFromJson, the one
    /// Invoke-RestMethod and ConvertFrom-Json use), so numbers, dates and objects come out exactly as they would
    /// from the built-in cmdlet; false when it is not JSON.
    /// </summary>
    public static bool TryJson(string text, out object? value)
    {
        try
        {
            value = PowerShellJson.Value(text, out var error);
            if (error is null && (value is not null || text.AsSpan().Trim().SequenceEqual("null")))
            {
                return true;
            }
        }
        catch (ArgumentException)
        {
            // Not JSON: the converter wraps its parser's error, as Invoke-RestMethod sees it.
        }
        catch (InvalidOperationException)
        {
            // JSON PowerShell can't represent: Invoke-RestMethod keeps the text then too.
        }

        value = null;
        return false;
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

    private static bool IsJson(string? mediaType) =>
        mediaType is "application/json" or "text/json" or "application/x-javascript" or "text/javascript" or "application/javascript"
        || (mediaType?.EndsWith("+json", StringComparison.Ordinal) ?? false);

    private static bool IsXml(string? mediaType) =>
        mediaType is "application/xml" or "text/xml"
        || (mediaType?.EndsWith("+xml", StringComparison.Ordinal) ?? false);
}
