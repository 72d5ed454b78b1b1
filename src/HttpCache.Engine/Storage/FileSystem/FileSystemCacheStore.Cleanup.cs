using System.Collections.Concurrent;

namespace HttpCache.Engine.Storage.FileSystem;

/// <summary>
/// Cleanup: removing entries and their variant markers, clearing the folder, and deleting what crashed
/// writers left behind, without ever touching a live writer's temporary file.
/// </summary>
public sealed partial class FileSystemCacheStore
{
    // The temporary files of this process's streamed writes in progress. The lock a writer holds on its file
    // keeps other processes' cleanups away from it; this keeps this process's away even without file locks
    // (DOTNET_SYSTEM_IO_DISABLEFILELOCKING).
    private static readonly ConcurrentDictionary<string, byte> LiveTemps = new(
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

    /// <summary>
    /// At open: what writers killed mid-write left behind goes — temporary files no writer holds any more (an
    /// entry's, a streamed body's, the counters' or the format probe's), and body files without a meta file (a kill
    /// between a body's rename and its meta file's). Found by listing the folder without the lock, deleted under
    /// it, where no writer can be half-way. Best effort: a sweep that cannot take the lock in time (or fails) is
    /// left to the next store opened on the folder; the index's scans delete stray temporary files as well.
    /// </summary>
    private void SweepLeftovers()
    {
        List<string> candidates;
        try
        {
            candidates = LeftoverCandidates();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return;
        }

        if (candidates.Count == 0)
        {
            return;
        }

        try
        {
            using var lease = _lock.AcquireAsync(CancellationToken.None).GetAwaiter().GetResult();
            foreach (var path in candidates)
            {
                if (path.EndsWith(TempExtension, StringComparison.Ordinal))
                {
                    TryDeleteAbandonedTemp(path);
                }
                else if (!File.Exists(Path.ChangeExtension(path, MetaExtension)))
                {
                    File.Delete(path);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CacheStoreException)
        {
            // Left for the next store opened on the folder.
        }
    }

    private List<string> LeftoverCandidates()
    {
        var candidates = Directory.EnumerateFiles(Location, "*" + TempExtension).Where(path => IsTempName(Path.GetFileName(path))).ToList();
        foreach (var (_, folder) in ShardFolders())
        {
            var files = Directory.EnumerateFiles(folder).Select(Path.GetFileName).OfType<string>().ToHashSet(StringComparer.Ordinal);
            foreach (var fileName in files)
            {
                if (OwnedStem(fileName, out var name, out var kind)
                    && (kind == TempExtension || (kind == BodyExtension && !files.Contains(name + MetaExtension))))
                {
                    candidates.Add(Path.Combine(folder, fileName));
                }
            }
        }

        return candidates;
    }

    // "<anything>.<32 hex>.tmp": the temporary files WriteAtomic and the format probe make beside their targets.
    private static bool IsTempName(string fileName) =>
        fileName.Length > 37 && fileName[^37] == '.'
        && fileName.AsSpan(fileName.Length - 36, 32).IndexOfAnyExcept("0123456789abcdef") < 0;

    /// <summary>A streamed write is over (committed or abandoned): its temporary file is no longer protected.</summary>
    internal static void ForgetLiveTemp(string temp) => LiveTemps.TryRemove(temp, out _);

    /// <inheritdoc />
    public async Task<int> RemoveAsync(CacheQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        if (query == CacheQuery.All)
        {
            return await WithLockAsync(0, (lease, _) => Clear(lease), cancellationToken).ConfigureAwait(false);
        }

        // Found without the lock, so a purge of a large folder holds it only for the deletions; each candidate is
        // read again under the lock, so an entry rewritten meanwhile is judged as it now is.
        var candidates = Guarded(() => Scan(query, requireBody: false, cancellationToken).Select(found => found.Name).ToList());
        if (candidates.Count == 0)
        {
            return 0;
        }

        return await WithLockAsync((query, candidates), (lease, state) =>
        {
            _index?.Sync(lease);
            var removed = 0;
            foreach (var name in state.candidates)
            {
                if (ReadMeta(name, withMetadata: false) is { } meta && Belongs(meta, name, state.query.Key, state.query.PrimaryKey)
                    && Matches(state.query, meta))
                {
                    DeleteEntry(lease, name, meta.PrimaryKey);
                    removed++;
                }
            }

            _index?.Synced(lease);
            return removed;
        }, cancellationToken).ConfigureAwait(false);
    }

    // Under the lock. The meta file goes first: from then on readers see the entry as missing.
    private void DeleteEntry(FileSystemLease lease, string name, string primaryKey)
    {
        File.Delete(MetaPath(name));
        File.Delete(BodyPath(name));
        DeleteMarker(FileSystemNames.Of(primaryKey), name);
        lease.Touch(FileSystemNames.ShardOf(name));
        _index?.Remove(name);
    }

    private void DeleteMarker(string primaryName, string name)
    {
        var folder = VariantsFolder(primaryName);
        if (!Directory.Exists(folder))
        {
            // Nothing to delete (an entry named after its primary key has no marker): no exception to pay for.
            return;
        }

        try
        {
            File.Delete(Path.Combine(folder, name));
            if (!Directory.EnumerateFileSystemEntries(folder).Any())
            {
                Directory.Delete(folder);
            }
        }
        catch (DirectoryNotFoundException)
        {
            // Already gone.
        }
        catch (IOException)
        {
            // Not empty after all: another variant's marker. Markers are written under the lock, so this is rare.
        }
    }

    // Under the lock: every entry file of ours goes (stray temporary files and half entries too), and the
    // variant markers with them. Files that are not ours are left alone.
    private int Clear(FileSystemLease lease)
    {
        var removed = 0;
        foreach (var (shard, folder) in ShardFolders())
        {
            foreach (var path in Directory.EnumerateFiles(folder))
            {
                var fileName = Path.GetFileName(path);
                if (OwnedStem(fileName, out var name, out var kind))
                {
                    if (kind == TempExtension)
                    {
                        // A streamed write in progress keeps its file; it commits into the emptied folder later.
                        TryDeleteAbandonedTemp(path);
                        continue;
                    }

                    if (kind == MetaExtension && ReadMeta(name, withMetadata: false) is { } meta && Belongs(meta, name, null, null))
                    {
                        removed++;
                    }

                    File.Delete(path);
                    lease.Touch(shard);
                }
            }
        }

        var variants = Path.Combine(Location, VariantsFolderName);
        if (Directory.Exists(variants))
        {
            Directory.Delete(variants, recursive: true);
        }

        // The folder is empty of entries now: the next write's sync finds that cheaply.
        _index?.Invalidate();
        return removed;
    }

    // Under the lock: the temporary files in one folder that no writer holds any more.
    private static void DeleteAbandonedTemps(string folder)
    {
        foreach (var path in Directory.EnumerateFiles(folder, "*" + TempExtension).ToList())
        {
            if (OwnedStem(Path.GetFileName(path), out _, out var kind) && kind == TempExtension)
            {
                TryDeleteAbandonedTemp(path);
            }
        }
    }

    /// <summary>
    /// Under the lock: deletes a temporary file unless a streamed writer still holds it. Writers of whole files
    /// hold the lock while their temporary files exist, so the caller's lock rules them out; a streamed writer
    /// holds its file open without sharing until its commit (under the lock), so a file that opens is provably
    /// abandoned. The probe shares deletion only, so it is refused on Windows (a share mode) as on Unix (an
    /// exclusive flock against its shared one) while the writer has the file.
    /// </summary>
    private static void TryDeleteAbandonedTemp(string path)
    {
        if (LiveTemps.ContainsKey(path))
        {
            return;
        }

        FileStream probe;
        try
        {
            probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Delete, bufferSize: 0);
        }
        catch (IOException ex) when (ex is FileNotFoundException or DirectoryNotFoundException || FileSystemLock.IsSharingViolation(ex))
        {
            return;
        }

        using (probe)
        {
            File.Delete(path);
        }
    }
}
