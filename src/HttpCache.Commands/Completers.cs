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
                var text = value.IndexOfAny([' ', ':', '.']) >= 0 ? $"'{value}'" : value;
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
/// Completes -Uri with the URLs the session has cached: the -Session already typed on the command line, else
/// the shared default session if this process opened it (completion never opens a store). What was typed is a
/// prefix, or a wildcard pattern when it has wildcard characters; matching is case-insensitive.
/// </summary>
internal sealed class CachedUriCompleter : IArgumentCompleter
{
    /// <summary>The most URLs offered: a completion list longer than this helps nobody.</summary>
    public const int MaxResults = 100;

    /// <summary>Completion runs while the user waits: a store slower than this offers nothing.</summary>
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(3);

    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var session = SessionOf(fakeBoundParameters) ?? SessionProvider.Existing;
        if (session is null || session.IsDisposed)
        {
            return [];
        }

        var typed = (wordToComplete ?? string.Empty).Trim('\'', '"');
        var pattern = new WildcardPattern(WildcardPattern.ContainsWildcardCharacters(typed) ? typed : WildcardPattern.Escape(typed) + "*", WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant);
        try
        {
            return Complete(session, pattern);
        }
        catch (Exception ex) when (ex is CacheStoreException or OperationCanceledException or ObjectDisposedException)
        {
            // A store that is locked, gone or slow offers no completions rather than an error in the prompt.
            return [];
        }
    }

    private static List<CompletionResult> Complete(CacheSession session, WildcardPattern pattern)
    {
        using var budget = new CancellationTokenSource(Budget);
        var found = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var entries = session.Engine.GetEntriesAsync(CacheQuery.All, budget.Token).GetAsyncEnumerator(budget.Token);
        try
        {
            while (found.Count < MaxResults && entries.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                var entry = entries.Current;
                if (pattern.IsMatch(entry.Uri) && !found.ContainsKey(entry.Uri))
                {
                    found[entry.Uri] = $"{entry.Method} {entry.StatusCode}, stored {entry.CreatedAt.LocalDateTime:g}";
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
