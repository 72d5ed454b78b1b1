using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using HttpCache.Engine.Storage;

namespace HttpCache.Commands;

/// <summary>Tab completion from a fixed list, matching what was typed as a prefix, case-insensitively.</summary>
internal abstract class FixedListCompleter : IArgumentCompleter
{
    private readonly (string Value, string Tooltip)[] values;

    protected FixedListCompleter(params (string Value, string Tooltip)[] values) => this.values = values;

    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var typed = (wordToComplete ?? string.Empty).Trim('\'', '"');
        foreach (var (value, tooltip) in values)
        {
            if (value.StartsWith(typed, StringComparison.OrdinalIgnoreCase))
            {
                var text = value.IndexOfAny([' ', ':', '.', ';']) >= 0 && !value.StartsWith('$') ? $"'{value}'" : value;
                yield return new CompletionResult(text, value, CompletionResultType.ParameterValue, tooltip);
            }
        }
    }
}

/// <summary>Completes -ExpireAfter with the special names and a few common durations.</summary>
internal sealed class ExpirationCompleter : FixedListCompleter
{
    public ExpirationCompleter()
        : base(
            ("NeverExpire", "Stored and never stale."),
            ("ExpireImmediately", "Stored, but revalidated before every use."),
            ("DoNotCache", "Not stored at all."),
            ("00:05:00", "Five minutes."),
            ("01:00:00", "One hour."),
            ("1.00:00:00", "One day."))
    {
    }
}

/// <summary>Completes -Method with the standard HTTP methods.</summary>
internal sealed class HttpMethodCompleter : FixedListCompleter
{
    public HttpMethodCompleter()
        : base(
            ("GET", "GET"),
            ("HEAD", "HEAD"),
            ("POST", "POST"),
            ("PUT", "PUT"),
            ("PATCH", "PATCH"),
            ("DELETE", "DELETE"),
            ("OPTIONS", "OPTIONS"),
            ("TRACE", "TRACE"))
    {
    }
}

/// <summary>
/// For a value the user writes (a name, a number, a script block, a variable name…): nothing to offer, and
/// above all not PowerShell's fallback, the file names of the current folder. An IArgumentCompleter that
/// answers with an empty list ends completion there.
/// </summary>
internal sealed class NoCompletion : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) => [];
}

/// <summary>Completes durations (-OlderThan, -NewerThan, -TtlOffset) with a few common ones.</summary>
internal sealed class DurationCompleter : FixedListCompleter
{
    public DurationCompleter()
        : base(
            ("00:05:00", "Five minutes."),
            ("01:00:00", "One hour."),
            ("1.00:00:00", "One day."),
            ("7.00:00:00", "One week."))
    {
    }
}

/// <summary>Completes -StaleIfError and -StaleWhileRevalidate: $true (any staleness) or a window.</summary>
internal sealed class StaleWindowCompleter : FixedListCompleter
{
    public StaleWindowCompleter()
        : base(
            ("$true", "Any staleness."),
            ("$false", "Only what the response's directives allow."),
            ("00:05:00", "Five minutes."),
            ("01:00:00", "One hour."),
            ("1.00:00:00", "One day."))
    {
    }
}

/// <summary>Completes status codes with the ones caches are usually told about.</summary>
internal sealed class StatusCodeCompleter : FixedListCompleter
{
    public StatusCodeCompleter()
        : base(
            ("200", "OK"),
            ("203", "Non-Authoritative Information"),
            ("300", "Multiple Choices"),
            ("301", "Moved Permanently"),
            ("308", "Permanent Redirect"),
            ("404", "Not Found"),
            ("410", "Gone"))
    {
    }
}

/// <summary>Completes -ContentType with the common request media types.</summary>
internal sealed class ContentTypeCompleter : FixedListCompleter
{
    public ContentTypeCompleter()
        : base(
            ("application/json", "JSON"),
            ("application/x-www-form-urlencoded", "A form"),
            ("multipart/form-data", "A multipart form"),
            ("application/xml", "XML"),
            ("text/plain", "Plain text"))
    {
    }
}

/// <summary>Completes -IgnoredParameters with the default secret names, so the user sees what is covered already (the names given are added to them).</summary>
internal sealed class IgnoredParameterCompleter : FixedListCompleter
{
    public IgnoredParameterCompleter()
        : base(Engine.Policy.CacheSettings.DefaultSecretNames.Order(StringComparer.OrdinalIgnoreCase).Select(n => (n, "A secret by default: keyed by digest, redacted.")).ToArray())
    {
    }
}

/// <summary>Completes -TargetedCacheControl with RFC 9213's CDN-Cache-Control.</summary>
internal sealed class TargetedCacheControlCompleter : FixedListCompleter
{
    public TargetedCacheControlCompleter()
        : base(
            ("CDN-Cache-Control", "RFC 9213's field for CDNs."))
    {
    }
}

/// <summary>Completes -ExcludeFromKey with tracking parameters, which never change an answer (credentials are left to the user's judgement).</summary>
internal sealed class ExcludeFromKeyCompleter : FixedListCompleter
{
    public ExcludeFromKeyCompleter()
        : base(
            ("utm_source", "A tracking parameter."),
            ("utm_medium", "A tracking parameter."),
            ("utm_campaign", "A tracking parameter."),
            ("utm_term", "A tracking parameter."),
            ("utm_content", "A tracking parameter."),
            ("gclid", "Google's click id."),
            ("fbclid", "Facebook's click id."),
            ("X-Request-Id", "A request id header."))
    {
    }
}

/// <summary>Completes -MatchHeaders: $true (every header) or common request header names.</summary>
internal sealed class MatchHeadersCompleter : FixedListCompleter
{
    public MatchHeadersCompleter()
        : base(
            ("$true", "Every request header (secrets as keyed digests)."),
            ("Accept", "Accept"),
            ("Accept-Encoding", "Accept-Encoding"),
            ("Accept-Language", "Accept-Language"))
    {
    }
}

/// <summary>
/// Completes -Session with the global variables that hold a session (<c>$s</c>), never with file names.
/// </summary>
internal sealed class SessionVariableCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var typed = (wordToComplete ?? string.Empty).TrimStart('$');
        var results = new List<CompletionResult>();
        try
        {
            // Completion runs on the pipeline thread of the runspace being completed: a nested command there
            // reads its variables (global scope: what a prompt has).
            using var ps = PowerShell.Create(RunspaceMode.CurrentRunspace);
            foreach (var item in ps.AddCommand("Microsoft.PowerShell.Utility\\Get-Variable").AddParameter("Scope", "Global").Invoke())
            {
                if (item?.BaseObject is PSVariable { Value: var value } variable
                    && (value is CacheSession || value is PSObject { BaseObject: CacheSession })
                    && variable.Name.StartsWith(typed, StringComparison.OrdinalIgnoreCase))
                {
                    results.Add(new CompletionResult("$" + variable.Name, "$" + variable.Name, CompletionResultType.Variable, $"The cache session in ${variable.Name}."));
                }
            }
        }
        catch (Exception ex) when (ex is RuntimeException or InvalidOperationException)
        {
            // No runspace to read on this thread: nothing to offer.
        }

        return results.OrderBy(r => r.CompletionText, StringComparer.OrdinalIgnoreCase).ToList();
    }
}

/// <summary>
/// Completes a parameter from what the session has cached: the -Session already typed on the command line,
/// else the shared default session, opened for the purpose only if its SQLite file already exists (completion
/// never creates a store). What was typed is a prefix, or a wildcard pattern when it has wildcard characters;
/// matching is case-insensitive.
/// </summary>
internal abstract class CachedEntryCompleter : IArgumentCompleter
{
    /// <summary>The most values offered: a completion list longer than this helps nobody.</summary>
    public const int MaxResults = 100;

    /// <summary>Completion runs while the user waits: a store slower than this offers nothing.</summary>
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(3);

    /// <summary>The value of an entry this completer offers.</summary>
    protected abstract string ValueOf(CacheRecordInfo entry);

    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var typed = (wordToComplete ?? string.Empty).Trim('\'', '"');
        var pattern = new WildcardPattern(WildcardPattern.ContainsWildcardCharacters(typed) ? typed : WildcardPattern.Escape(typed) + "*", WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant);
        try
        {
            var session = SessionOf(fakeBoundParameters) ?? DefaultSession();
            return session is null || session.IsDisposed ? [] : Complete(session, pattern);
        }
        catch (Exception ex) when (ex is CacheStoreException or OperationCanceledException or ObjectDisposedException)
        {
            // A store that is locked, gone or slow offers no completions rather than an error in the prompt.
            return [];
        }
    }

    /// <summary>The default session the command would use, if it exists or its file does; never a new store.</summary>
    private static CacheSession? DefaultSession() =>
        SessionProvider.Existing ?? (File.Exists(CachePaths.DefaultSqlitePath) ? SessionProvider.Default : null);

    private List<CompletionResult> Complete(CacheSession session, WildcardPattern pattern)
    {
        using var budget = new CancellationTokenSource(Budget);
        var found = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var entries = session.Engine.GetEntriesAsync(CacheQuery.All, budget.Token).GetAsyncEnumerator(budget.Token);
        try
        {
            while (found.Count < MaxResults && entries.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                var entry = entries.Current;
                var value = ValueOf(entry);
                if (pattern.IsMatch(value) && !found.ContainsKey(value))
                {
                    found[value] = $"{entry.Method} {entry.Uri} {entry.StatusCode}, stored {entry.CreatedAt.LocalDateTime:g}";
                }
            }
        }
        finally
        {
            entries.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        return found.Select(f => new CompletionResult("'" + f.Key.Replace("'", "''", StringComparison.Ordinal) + "'", f.Key, CompletionResultType.ParameterValue, f.Value)).ToList();
    }

    private static CacheSession? SessionOf(IDictionary fakeBoundParameters) =>
        fakeBoundParameters?["Session"] switch
        {
            CacheSession session => session,
            PSObject { BaseObject: CacheSession wrapped } => wrapped,
            _ => null,
        };
}

/// <summary>Completes -Uri with the URLs the session has cached.</summary>
internal sealed class CachedUriCompleter : CachedEntryCompleter
{
    /// <inheritdoc />
    protected override string ValueOf(CacheRecordInfo entry) => entry.Uri;
}

/// <summary>Completes -Key with the keys of the session's entries.</summary>
internal sealed class CachedKeyCompleter : CachedEntryCompleter
{
    /// <inheritdoc />
    protected override string ValueOf(CacheRecordInfo entry) => entry.Key;
}
