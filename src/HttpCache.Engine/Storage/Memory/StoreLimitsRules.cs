namespace HttpCache.Engine.Storage;

/// <summary>
/// What every backend does with <see cref="StoreLimits"/>, in one place so they agree: which limits are
/// valid, when a store is over them, and the least-recently-used order evictions follow.
/// </summary>
/// <remarks>It lives beside the reference backend (Memory) because Storage/ itself holds only the contract.</remarks>
internal static class StoreLimitsRules
{
    /// <summary>
    /// The limits a store keeps to, or null when there are none, so a backend can test one reference on its
    /// hot path. Bounds below one are refused: a store that may hold nothing is no cache.
    /// </summary>
    public static StoreLimits? Normalize(StoreLimits? limits, string parameterName)
    {
        if (limits is null || (limits.MaxBytes is null && limits.MaxEntries is null))
        {
            return null;
        }

        if (limits.MaxBytes is < 1)
        {
            throw new ArgumentOutOfRangeException(parameterName, limits.MaxBytes, "MaxBytes must be at least 1 (or null for no bound).");
        }

        if (limits.MaxEntries is < 1)
        {
            throw new ArgumentOutOfRangeException(parameterName, limits.MaxEntries, "MaxEntries must be at least 1 (or null for no bound).");
        }

        return limits;
    }

    /// <summary>True when one entry of this size can never fit, so it is not stored at all.</summary>
    public static bool TooLargeAlone(StoreLimits limits, long size) => limits.MaxBytes is { } maxBytes && size > maxBytes;

    /// <summary>True when a store holding this much must evict.</summary>
    public static bool IsOver(StoreLimits limits, long entries, long bytes) =>
        (limits.MaxEntries is { } maxEntries && entries > maxEntries) || (limits.MaxBytes is { } maxBytes && bytes > maxBytes);

    /// <summary>
    /// The instant that places an entry in least-recently-used order: its last access, else its creation.
    /// Ties go by key (ordinal), so every backend evicts the same entries.
    /// </summary>
    public static long LruTicks(DateTimeOffset? lastAccessedAt, DateTimeOffset createdAt) =>
        (lastAccessedAt ?? createdAt).UtcTicks;

    /// <summary>The name of the persisted counter that evictions are added to.</summary>
    public const string EvictionsCounter = "evictions";
}
