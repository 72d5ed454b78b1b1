using System.Management.Automation;
using HttpCache.Engine.Storage;

namespace HttpCache.Commands;

/// <summary>The module's ErrorRecords: each with an <see cref="ErrorIds"/> id, a real category and a target.</summary>
internal static class Errors
{
    public static ErrorRecord InvalidUri(string? uri, string why) => new(
        new ArgumentException($"'{uri}' is not a valid URL: {why} Give an absolute http or https URL, such as 'https://example.com/path'."),
        ErrorIds.InvalidUri,
        ErrorCategory.InvalidArgument,
        uri);

    /// <summary>
    /// An -ExpireAfter instant that has already passed: every answer would be stale at once, which is
    /// ExpireImmediately's meaning, so a past date is far likelier a mistake (a wrong year, a local/UTC mix-up).
    /// Null when the lifetime is not a past instant.
    /// </summary>
    public static ErrorRecord? PastExpiration(object? lifetime, DateTimeOffset now) =>
        lifetime is Engine.Policy.Expiration { Kind: Engine.Policy.ExpirationKind.At } expiration && expiration.Instant <= now
            ? new ErrorRecord(
                new ArgumentOutOfRangeException(
                    "ExpireAfter",
                    $"-ExpireAfter {expiration.Instant.ToLocalTime():yyyy-MM-dd HH:mm:ss zzz} is in the past (it is now {now.ToLocalTime():yyyy-MM-dd HH:mm:ss zzz}). Give a future instant, a duration, or ExpireImmediately to store answers that are revalidated before every use."),
                ErrorIds.InvalidExpiration,
                ErrorCategory.InvalidArgument,
                lifetime)
            : null;

    public static ErrorRecord StoreUnavailable(Exception exception, object? target)
    {
        var category = exception.InnerException is UnauthorizedAccessException ? ErrorCategory.PermissionDenied : ErrorCategory.ResourceUnavailable;
        return new ErrorRecord(exception, ErrorIds.CacheStoreUnavailable, category, target);
    }

    public static ErrorRecord SessionDisposed(CacheSession session) => new(
        new ObjectDisposedException(session.Name, $"The cache session '{session.Name}' was disposed; create another with New-HttpCacheSession."),
        ErrorIds.SessionDisposed,
        ErrorCategory.InvalidOperation,
        session);

    public static ErrorRecord EntryNotFound(string what, object target) => new(
        new ItemNotFoundException($"No cache entry matches {what}."),
        ErrorIds.EntryNotFound,
        ErrorCategory.ObjectNotFound,
        target);

    /// <summary>The record for an exception an engine call threw, or null when it is not one the cmdlets translate.</summary>
    public static ErrorRecord? FromEngine(Exception exception, CacheSession session) => exception switch
    {
        CacheStoreException store => StoreUnavailable(store, session.Location),
        ObjectDisposedException => SessionDisposed(session),
        _ => null,
    };
}

/// <summary>Picks the session a command works on: the one given, or the shared default one.</summary>
internal static class Sessions
{
    /// <summary>
    /// <paramref name="given"/>, or the default session (created now if needed; when its store cannot be opened
    /// it caches in memory, and this warns once per process). A disposed session stops the command with a
    /// terminating error.
    /// </summary>
    public static CacheSession Resolve(PSCmdlet cmdlet, CacheSession? given)
    {
        if (given is not null)
        {
            if (given.IsDisposed)
            {
                cmdlet.ThrowTerminatingError(Errors.SessionDisposed(given));
            }

            return given;
        }

        var session = SessionProvider.Default;
        if (SessionProvider.TakeFallbackWarning() is { } warning)
        {
            cmdlet.WriteWarning(warning);
        }

        return session;
    }
}
