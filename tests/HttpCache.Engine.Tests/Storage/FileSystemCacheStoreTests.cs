using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.FileSystem;

namespace HttpCache.Engine.Tests.Storage;

public sealed partial class FileSystemCacheStoreTests : StreamingStoreContractTests
{
    // Generous: only a hang should ever reach it.
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(20);

    // Shaped like the engine's keys: a 32-hex primary key, and a variant with a dot and 16 more hex digits.
    private const string EnginePrimaryKey = "0123456789abcdef0123456789abcdef";
    private const string EngineVariantKey = EnginePrimaryKey + ".fedcba9876543210";

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", Guid.NewGuid().ToString("N"));
    private readonly List<ICacheStore> _extraStores = [];

    private string CacheFolder => Path.Combine(_folder, "cache");

    protected override Task<ICacheStore> CreateStoreAsync() => Task.FromResult<ICacheStore>(new FileSystemCacheStore(CacheFolder));

    protected override Task<ICacheStore> CreateLimitedStoreAsync(StoreLimits limits) =>
        Task.FromResult<ICacheStore>(new FileSystemCacheStore(Path.Combine(_folder, "limited", Guid.NewGuid().ToString("N")), limits));

    public override async Task DisposeAsync()
    {
        foreach (var store in _extraStores)
        {
            await store.DisposeAsync();
        }

        await base.DisposeAsync();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private static IEnumerable<FileInfo> ShardFiles(ICacheStore store) =>
        Directory.EnumerateDirectories(store.Location)
            .Where(folder => Path.GetFileName(folder).Length == 2)
            .SelectMany(folder => new DirectoryInfo(folder).EnumerateFiles());

    protected override ICacheStore OpenAnotherOnTheSameLocation() => OpenAnother();

    protected override Task<long> LeftoversAsync(ICacheStore store) =>
        Task.FromResult((long)ShardFiles(store).Count(file => file.Name.EndsWith(".tmp", StringComparison.Ordinal)));

    protected override Task<long> BodyBytesAsync(ICacheStore store) =>
        Task.FromResult(ShardFiles(store)
            .Where(file => file.Name.EndsWith(".tmp", StringComparison.Ordinal) || file.Name.EndsWith(".body", StringComparison.Ordinal))
            .Sum(file => file.Length));

    private static CacheRecord EngineStreamRecord() => new()
    {
        Key = EngineVariantKey,
        PrimaryKey = EnginePrimaryKey,
        Method = "GET",
        Uri = "https://example.test/large.bin",
        StatusCode = 200,
        CreatedAt = T0,
        BodyStreamed = true,
        Metadata = [1, 2, 3],
        Body = [],
    };

    // asAnotherProcess: the store does not share this process's lock queue, so only the lock file keeps it and the
    // others apart, as between processes (.NET's Unix file lock is per open file, so it works within one process too).
    private FileSystemCacheStore OpenAnother(
        string? folder = null, StoreLimits? limits = null, TimeSpan? lockTimeout = null, bool asAnotherProcess = false)
    {
        var store = new FileSystemCacheStore(folder ?? CacheFolder, limits, lockTimeout, shareProcessGate: !asAnotherProcess);
        _extraStores.Add(store);
        return store;
    }

    private static CacheRecord EngineRecord(string key, byte[] body) => new()
    {
        Key = key,
        PrimaryKey = EnginePrimaryKey,
        Method = "GET",
        Uri = "https://example.test/data.bin",
        StatusCode = 200,
        CreatedAt = T0,
        Metadata = [1, 2, 3],
        Body = body,
    };

    private string[] FilesUnder(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(folder, path))
            .Order(StringComparer.Ordinal)
            .ToArray();

    private string EngineFile(string extension) =>
        Path.Combine(CacheFolder, EngineVariantKey[..2], EngineVariantKey + extension);

    [Fact]
    public void Is_the_FileSystem_backend_at_its_full_path_and_creates_the_folder()
    {
        Assert.Equal("FileSystem", Store.BackendName);
        Assert.Equal(CacheFolder, Store.Location);
        Assert.True(File.Exists(Path.Combine(CacheFolder, "store.json")));
    }

    [Fact]
    public void A_relative_path_is_made_full_without_a_trailing_separator()
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, Path.Combine(_folder, "relative")) + Path.DirectorySeparatorChar;

        var store = OpenAnother(relative);

        Assert.Equal(Path.Combine(_folder, "relative"), store.Location);
    }

    [Fact]
    public async Task The_body_file_holds_exactly_the_bytes_under_the_engines_key()
    {
        var body = RandomNumberGenerator.GetBytes(70_000);

        await Store.SetAsync(EngineRecord(EngineVariantKey, body));

        // A user finds the entry by its key, in the shard of its first two hex digits, and opens the body as it came.
        Assert.Equal(body, await File.ReadAllBytesAsync(EngineFile(".body")));
        using var meta = JsonDocument.Parse(await File.ReadAllBytesAsync(EngineFile(".meta")));
        Assert.Equal(EngineVariantKey, meta.RootElement.GetProperty("key").GetString());
        Assert.Equal("https://example.test/data.bin", meta.RootElement.GetProperty("uri").GetString());
        Assert.Equal(body.Length, meta.RootElement.GetProperty("bodyLength").GetInt64());
        Assert.Equal(
            [Path.Combine("variants", "01", EnginePrimaryKey, EngineVariantKey)],
            FilesUnder(CacheFolder).Where(f => f.StartsWith("variants", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("../../escape")]
    [InlineData("..")]
    [InlineData("ab/../../escape")]
    [InlineData("/etc/passwd")]
    [InlineData("C:\\Windows\\escape")]
    [InlineData("..\\escape")]
    [InlineData("ab..")]
    [InlineData("AB")]
    [InlineData("con")]
    [InlineData("")]
    public async Task A_key_never_becomes_a_path(string key)
    {
        var record = Record(key, primaryKey: "../" + key, body: "contained");

        await Store.SetAsync(record);

        // Only the cache folder exists beside the test's own files: nothing escaped it.
        Assert.Equal([CacheFolder], Directory.EnumerateFileSystemEntries(_folder).ToArray());
        Assert.All(
            FilesUnder(CacheFolder).Where(f => f.EndsWith(".body", StringComparison.Ordinal) || f.EndsWith(".meta", StringComparison.Ordinal)),
            f => Assert.Matches(@"^[0-9a-f]{2}[/\\]_[0-9a-f]{32}\.(body|meta)$", f));
        var stored = await Store.GetAsync(key);
        Assert.NotNull(stored);
        Assert.Equal("contained", Encoding.UTF8.GetString(stored.Body));
        Assert.Equal(key, Assert.Single(await Store.GetVariantsAsync("../" + key)).Key);
        Assert.Equal(1, await Store.RemoveAsync(new CacheQuery { Key = key }));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Counters_are_exact_with_eight_parallel_tasks_on_each_of_two_stores(bool asAnotherProcess)
    {
        const int tasksPerStore = 8;
        const int additionsEach = 25;
        var stores = new ICacheStore[] { Store, OpenAnother(asAnotherProcess: asAnotherProcess) };

        await Task.WhenAll(stores.SelectMany(store => Enumerable.Range(0, tasksPerStore).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < additionsEach; i++)
            {
                await store.AddCountersAsync(new Dictionary<string, long> { ["hits"] = 1, ["bytes"] = 10 });
            }
        }))));

        var counters = await stores[1].GetCountersAsync();
        Assert.Equal(2 * tasksPerStore * additionsEach, counters["hits"]);
        Assert.Equal(2 * tasksPerStore * additionsEach * 10L, counters["bytes"]);
    }

    [Fact]
    public async Task Replacing_files_leaves_no_temporary_files_behind()
    {
        var other = OpenAnother(limits: new StoreLimits { MaxEntries = 5 });
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(async () =>
        {
            var store = t % 2 == 0 ? Store : other;
            for (var i = 0; i < 20; i++)
            {
                await store.SetAsync(Record($"k{i % 7}", body: $"version {t}.{i}"));
                await store.RecordAccessAsync([new EntryAccess($"k{i % 7}", 1, T0.AddSeconds(i))]);
                await store.UpdateExpirationAsync($"k{i % 7}", T0, T0.AddDays(1));
                await store.AddCountersAsync(new Dictionary<string, long> { ["writes"] = 1 });
            }
        })));

        Assert.DoesNotContain(FilesUnder(CacheFolder), f => f.EndsWith(".tmp", StringComparison.Ordinal));
        Assert.Equal(80, (await Store.GetCountersAsync())["writes"]);
    }

    [Fact]
    public async Task A_reader_never_sees_a_body_with_another_versions_meta()
    {
        var bodies = Enumerable.Range(0, 2).Select(i => Enumerable.Repeat((byte)('a' + i), 64 * 1024).ToArray()).ToArray();
        CacheRecord Version(int i) => new()
        {
            Key = EngineVariantKey,
            PrimaryKey = EnginePrimaryKey,
            Method = "GET",
            Uri = "https://example.test/data.bin",
            StatusCode = 200 + i,
            CreatedAt = T0,
            Metadata = [(byte)i],
            Body = bodies[i],
        };

        await Store.SetAsync(Version(0));
        using var stop = new CancellationTokenSource();
        var writes = 0;
        var writer = Task.Run(async () =>
        {
            for (var i = 1; !stop.IsCancellationRequested; i++)
            {
                await Store.SetAsync(Version(i % 2));
                Interlocked.Increment(ref writes);
            }
        });

        // Reads go on until each version has been read whole, and at least 300 times: version 1 exists only once
        // the writer ran, so seeing both proves it replaced the files while they were being read.
        var seen = new int[2];
        var missing = 0;
        var reads = 0;
        var guard = Stopwatch.StartNew();
        while (reads < 300 || seen[0] == 0 || seen[1] == 0)
        {
            Assert.True(guard.Elapsed < HangGuard, $"after {reads} reads: version 0 read {seen[0]} times, version 1 {seen[1]}, {missing} missing, {writes} writes");
            reads++;
            // Always a whole version, and always the metadata written with that body; missing only when the
            // writer won every attempt of one read.
            if (await Store.GetAsync(EngineVariantKey) is not { } record)
            {
                missing++;
                continue;
            }

            var version = record.Metadata[0];
            Assert.Equal(bodies[version], record.Body);
            Assert.Equal(200 + version, record.StatusCode);
            seen[version]++;
        }

        await stop.CancelAsync();
        await writer.WaitAsync(HangGuard);
    }

    [Fact]
    public async Task An_entry_whose_files_are_half_there_or_garbage_reads_as_missing_and_an_edited_body_as_found()
    {
        await Store.SetAsync(EngineRecord(EngineVariantKey, Encoding.UTF8.GetBytes("hello")));

        // The body file edited in place to other bytes of the same length: its hash disagrees even under the lock,
        // so it is damage, not a writer in between. It is returned as found, for the engine's checksum to judge.
        await File.WriteAllTextAsync(EngineFile(".body"), "HELLO");
        Assert.Equal("HELLO", Encoding.UTF8.GetString((await Store.GetAsync(EngineVariantKey))!.Body));
        Assert.Equal("HELLO", Encoding.UTF8.GetString(Assert.Single(await Store.GetVariantsAsync(EnginePrimaryKey)).Body));

        // The body file gone.
        File.Delete(EngineFile(".body"));
        Assert.Null(await Store.GetAsync(EngineVariantKey));
        Assert.Empty(await Store.GetVariantsAsync(EnginePrimaryKey));
        Assert.Empty(await ListKeysAsync(Store, CacheQuery.All));
        Assert.Equal(0, (await Store.GetInventoryAsync()).Entries);

        // The meta file garbage, or cut short.
        await Store.SetAsync(EngineRecord(EngineVariantKey, Encoding.UTF8.GetBytes("hello")));
        var meta = await File.ReadAllBytesAsync(EngineFile(".meta"));
        await File.WriteAllBytesAsync(EngineFile(".meta"), meta[..(meta.Length / 2)]);
        Assert.Null(await Store.GetAsync(EngineVariantKey));
        await File.WriteAllTextAsync(EngineFile(".meta"), "not json at all");
        Assert.Null(await Store.GetAsync(EngineVariantKey));
        Assert.Empty(await Store.GetVariantsAsync(EnginePrimaryKey));
        Assert.False(await Store.UpdateExpirationAsync(EngineVariantKey, T0, T0));

        // A write repairs it.
        await Store.SetAsync(EngineRecord(EngineVariantKey, Encoding.UTF8.GetBytes("again")));
        Assert.Equal("again", Encoding.UTF8.GetString((await Store.GetAsync(EngineVariantKey))!.Body));
    }

    [Fact]
    public async Task A_meta_file_copied_to_another_name_does_not_vouch_for_it()
    {
        var other = EngineVariantKey[..^1] + "1";
        await Store.SetAsync(EngineRecord(EngineVariantKey, Encoding.UTF8.GetBytes("x")));
        File.Copy(EngineFile(".meta"), Path.Combine(CacheFolder, "01", other + ".meta"));
        File.Copy(EngineFile(".body"), Path.Combine(CacheFolder, "01", other + ".body"));

        Assert.Null(await Store.GetAsync(other));
        Assert.Equal([EngineVariantKey], await ListKeysAsync(Store, CacheQuery.All));
    }

    [Fact]
    public async Task Metadata_the_engine_cannot_decode_is_returned_as_stored()
    {
        var record = EngineRecord(EngineVariantKey, [9]);
        var metadata = new byte[] { 0xFF, 0x00, 0xFE, (byte)'{' };
        await Store.SetAsync(new CacheRecord
        {
            Key = record.Key,
            PrimaryKey = record.PrimaryKey,
            Method = record.Method,
            Uri = record.Uri,
            CreatedAt = record.CreatedAt,
            Metadata = metadata,
            Body = record.Body,
        });

        Assert.Equal(metadata, (await Store.GetAsync(EngineVariantKey))!.Metadata);
    }

    [Fact]
    public async Task Removing_everything_clears_stray_files_of_ours_and_leaves_others_alone()
    {
        await Store.SetAsync(EngineRecord(EngineVariantKey, [1]));
        var shard = Path.Combine(CacheFolder, "01");
        var strayTemp = Path.Combine(shard, EngineVariantKey + ".body." + Guid.NewGuid().ToString("N") + ".tmp");
        var orphanBody = Path.Combine(shard, "0123.body");
        var notOurs = Path.Combine(shard, "notes.txt");
        var notOursAtTheTop = Path.Combine(CacheFolder, "README.txt");
        foreach (var path in new[] { strayTemp, orphanBody, notOurs, notOursAtTheTop })
        {
            await File.WriteAllTextAsync(path, "x");
        }

        Assert.Equal(1, await Store.RemoveAsync(CacheQuery.All));

        Assert.False(File.Exists(strayTemp));
        Assert.False(File.Exists(orphanBody));
        Assert.False(File.Exists(EngineFile(".meta")));
        Assert.False(Directory.Exists(Path.Combine(CacheFolder, "variants")));
        Assert.True(File.Exists(notOurs));
        Assert.True(File.Exists(notOursAtTheTop));
    }

    [Fact]
    public async Task A_limited_store_sees_entries_another_store_wrote()
    {
        var unlimited = OpenAnother(asAnotherProcess: true);
        var limited = OpenAnother(limits: new StoreLimits { MaxEntries = 3 }, asAnotherProcess: true);
        // The limited store builds its index now, before the others write.
        await limited.SetAsync(Record("first", createdAt: T0));

        await unlimited.SetAsync(Record("second", createdAt: T0.AddSeconds(1)));
        await unlimited.SetAsync(Record("third", createdAt: T0.AddSeconds(2)));
        await unlimited.RecordAccessAsync([new EntryAccess("first", 1, T0.AddSeconds(5))]);
        await limited.SetAsync(Record("fourth", createdAt: T0.AddSeconds(3)));
        Assert.Equal(3, (await Store.GetInventoryAsync()).Entries);
        Assert.Null(await Store.GetAsync("second"));

        await unlimited.RemoveAsync(new CacheQuery { Key = "third" });
        await limited.SetAsync(Record("fifth", createdAt: T0.AddSeconds(4)));

        Assert.Equal(["fifth", "first", "fourth"], (await ListKeysAsync(Store, CacheQuery.All)).Order(StringComparer.Ordinal));
        Assert.Equal(1, (await Store.GetCountersAsync())["evictions"]);
    }

    [Fact]
    public async Task A_limited_store_starts_again_when_the_lock_file_is_made_anew()
    {
        var limited = OpenAnother(limits: new StoreLimits { MaxEntries = 2 });
        await limited.SetAsync(Record("a", createdAt: T0));
        File.Delete(Path.Combine(CacheFolder, "store.lock"));
        await Store.SetAsync(Record("b", createdAt: T0.AddSeconds(1)));

        await limited.SetAsync(Record("c", createdAt: T0.AddSeconds(2)));

        Assert.Equal(["b", "c"], (await ListKeysAsync(Store, CacheQuery.All)).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Two_limited_stores_on_one_folder_never_leave_it_over_its_bounds(bool asOtherProcesses)
    {
        const int tasksPerStore = 4;
        const int writesEach = 20;
        var limits = new StoreLimits { MaxEntries = 10 };
        var stores = new[]
        {
            OpenAnother(limits: limits, asAnotherProcess: asOtherProcesses),
            OpenAnother(limits: limits, asAnotherProcess: asOtherProcesses),
        };
        // Both build their index first, so the race below runs on indexes kept in step through the journal.
        await stores[0].SetAsync(Record("first", createdAt: T0));
        await stores[1].SetAsync(Record("second", createdAt: T0));

        await Task.WhenAll(stores.SelectMany((store, s) => Enumerable.Range(0, tasksPerStore).Select(t => Task.Run(async () =>
        {
            for (var i = 0; i < writesEach; i++)
            {
                await store.SetAsync(Record($"s{s}-t{t}-w{i}", createdAt: T0.AddSeconds(i)));
            }
        }))));

        Assert.Equal(10, (await Store.GetInventoryAsync()).Entries);
        Assert.Equal((2 * tasksPerStore * writesEach) + 2 - 10, (await Store.GetCountersAsync())["evictions"]);
    }

    [Fact]
    public async Task Limited_stores_writing_in_turns_keep_one_bound()
    {
        var limits = new StoreLimits { MaxEntries = 5 };
        var stores = new[] { OpenAnother(limits: limits, asAnotherProcess: true), OpenAnother(limits: limits, asAnotherProcess: true) };

        for (var i = 0; i < 30; i++)
        {
            await stores[i % 2].SetAsync(Record($"w{i:D2}", createdAt: T0.AddSeconds(i)));
            if (i % 7 == 0)
            {
                // An access through the other store moves the entry up in the order the first one evicts by.
                await stores[(i + 1) % 2].RecordAccessAsync([new EntryAccess($"w{i:D2}", 1, T0.AddSeconds(i + 2.5))]);
            }
        }

        Assert.Equal(["w25", "w26", "w27", "w28", "w29"], (await ListKeysAsync(Store, CacheQuery.All)).Order(StringComparer.Ordinal));
        Assert.Equal(25, (await Store.GetCountersAsync())["evictions"]);
    }

    [Fact]
    public async Task A_lock_held_elsewhere_fails_writes_as_Locked_while_reads_go_on()
    {
        var store = OpenAnother(lockTimeout: TimeSpan.FromMilliseconds(200));
        await store.SetAsync(Record("before-lock"));
        var holder = new FileStream(Path.Combine(CacheFolder, "store.lock"), FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        CacheStoreException error;
        try
        {
            error = await Assert.ThrowsAsync<CacheStoreException>(() => store.SetAsync(Record("during-lock")).WaitAsync(HangGuard));
            Assert.NotNull(await store.GetAsync("before-lock"));
        }
        finally
        {
            await holder.DisposeAsync();
        }

        Assert.Equal(CacheStoreFailure.Locked, error.Failure);
        Assert.Contains(CacheFolder, error.Message, StringComparison.Ordinal);
        await store.SetAsync(Record("after-lock"));
        Assert.NotNull(await store.GetAsync("after-lock"));
    }

    [Fact]
    public void A_folder_that_cannot_be_created_fails_as_Unwritable()
    {
        // A regular file in the way: unwritable even for root, unlike a permission bit.
        Directory.CreateDirectory(_folder);
        var blocker = Path.Combine(_folder, "not-a-folder");
        File.WriteAllText(blocker, "x");

        var error = Assert.Throws<CacheStoreException>(() => new FileSystemCacheStore(Path.Combine(blocker, "cache")));
        Assert.Equal(CacheStoreFailure.Unwritable, error.Failure);
        Assert.Contains(blocker, error.Message, StringComparison.Ordinal);

        error = Assert.Throws<CacheStoreException>(() => new FileSystemCacheStore(blocker));
        Assert.Equal(CacheStoreFailure.Unwritable, error.Failure);
    }

    [Fact]
    public async Task A_store_file_that_is_garbage_fails_as_Corrupt()
    {
        await File.WriteAllTextAsync(Path.Combine(CacheFolder, "store.json"), "this is not a cache folder");

        var error = Assert.Throws<CacheStoreException>(() => new FileSystemCacheStore(CacheFolder));

        Assert.Equal(CacheStoreFailure.Corrupt, error.Failure);
        Assert.Contains(CacheFolder, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_folder_from_a_newer_format_is_refused()
    {
        await File.WriteAllTextAsync(Path.Combine(CacheFolder, "store.json"), """{ "format": "HttpCache.FileSystem", "version": 99 }""");

        var error = Assert.Throws<CacheStoreException>(() => new FileSystemCacheStore(CacheFolder));

        Assert.Equal(CacheStoreFailure.Other, error.Failure);
        Assert.Contains("format 99", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_counters_file_that_is_garbage_fails_as_Corrupt_until_cleared()
    {
        await File.WriteAllTextAsync(Path.Combine(CacheFolder, "counters.json"), "{ \"hits\": \"many\" }");

        var error = await Assert.ThrowsAsync<CacheStoreException>(() => Store.GetCountersAsync());
        Assert.Equal(CacheStoreFailure.Corrupt, error.Failure);
        error = await Assert.ThrowsAsync<CacheStoreException>(() => Store.AddCountersAsync(new Dictionary<string, long> { ["hits"] = 1 }));
        Assert.Equal(CacheStoreFailure.Corrupt, error.Failure);

        await Store.ClearCountersAsync();
        await Store.AddCountersAsync(new Dictionary<string, long> { ["hits"] = 1 });
        Assert.Equal(1, (await Store.GetCountersAsync())["hits"]);
    }

    [Fact]
    public async Task Evictions_are_counted_even_over_a_garbage_counters_file()
    {
        var limited = OpenAnother(limits: new StoreLimits { MaxEntries = 1 });
        await limited.SetAsync(Record("a", createdAt: T0));
        await File.WriteAllTextAsync(Path.Combine(CacheFolder, "counters.json"), "garbage");

        await limited.SetAsync(Record("b", createdAt: T0.AddSeconds(1)));

        Assert.NotNull(await limited.GetAsync("b"));
        Assert.Equal(1, (await limited.GetCountersAsync())["evictions"]);
    }

    [Fact]
    public async Task A_folder_deleted_under_the_store_is_made_again()
    {
        await Store.SetAsync(Record("k1"));
        Directory.Delete(CacheFolder, recursive: true);

        Assert.Null(await Store.GetAsync("k1"));
        await Store.SetAsync(Record("k2"));
        await Store.AddCountersAsync(new Dictionary<string, long> { ["hits"] = 1 });

        Assert.NotNull(await Store.GetAsync("k2"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_lock_timeout_must_be_positive(int milliseconds) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new FileSystemCacheStore(CacheFolder, lockTimeout: TimeSpan.FromMilliseconds(milliseconds)));
}
