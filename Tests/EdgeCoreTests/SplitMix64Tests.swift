import EdgeCore
import Testing

/// Pins the first values of every stream `SplitMix64` gives, as the five copies it replaced gave
/// them (the simulator's, the sample summary's, the config fuzzer's, the detection tests' and
/// Detection's seeding of xoshiro256**): seeded tests, simulated fleets and the shipped
/// meta-initialization depend on these exact sequences, so a change here is a change of all of them.
@Suite struct SplitMix64Tests {
    @Test("next() gives the reference SplitMix64 sequence", arguments: [
        (UInt64(0), [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F, 0xF88B_B8A8_724C_81EC] as [UInt64]),
        (UInt64(7), [0x63CB_E1E4_5932_0DD7, 0x044C_3CD7_F43C_661C, 0xE698_4080_BAB1_2A02, 0x953A_EB70_673E_29CB]),
        (UInt64(42), [0xBDD7_3226_2FEB_6E95, 0x28EF_E333_B266_F103, 0x4752_6757_130F_9F52, 0x581C_E1FF_0E4A_E394]),
    ])
    func firstValues(seed: UInt64, expected: [UInt64]) {
        var random = SplitMix64(seed: seed)
        #expect((0..<4).map { _ in random.next() } == expected)
    }

    @Test func uniformIsBitIdentical() {
        var random = SplitMix64(seed: 7)
        let values = (0..<3).map { _ in random.uniform().bitPattern }
        #expect(values == [0x3FD8_F2F8_7916_4C82, 0x3F91_30F3_5FD0_F180, 0x3FEC_D308_1017_5625])
    }

    @Test func gaussianIsBitIdentical() {
        var random = SplitMix64(seed: 7)
        let values = (0..<3).map { _ in random.gaussian().bitPattern }
        #expect(values == [0x3FF5_D702_29CD_EE63, 0xBFD9_60A6_1872_E24A, 0x3F72_6D0B_EBC9_703D])
    }

    @Test func logUniformAndExponentialAreBitIdentical() {
        var random = SplitMix64(seed: 7)
        #expect([random.logUniform(15...300).bitPattern, random.logUniform(15...300).bitPattern] == [0x4048_1CC9_F4EF_1B45, 0x402F_8C21_4000_F515])
        random = SplitMix64(seed: 7)
        #expect([random.exponential(mean: 60).bitPattern, random.exponential(mean: 60).bitPattern] == [0x403D_A41A_E87B_4969, 0x3FF0_40EA_CBCE_BD42])
    }

    @Test func indexChanceAndSplit() {
        var random = SplitMix64(seed: 7)
        #expect((0..<6).map { _ in random.index(below: 10) } == [7, 4, 6, 3, 4, 5])
        random = SplitMix64(seed: 42)
        #expect((0..<6).map { _ in random.index(below: 7) } == [5, 5, 0, 2, 6, 4])
        random = SplitMix64(seed: 7)
        #expect((0..<6).map { _ in random.chance(0.5) } == [true, true, false, false, true, true])
        random = SplitMix64(seed: 7)
        var child = random.split()
        #expect(child.next() == 0xB8B4_C297_7EAB_CE45)
        #expect(random.next() == 0x044C_3CD7_F43C_661C)
    }

    @Test func sameStateSameSequence() {
        var a = SplitMix64(seed: 99)
        _ = a.next()
        var b = SplitMix64(seed: 99)
        #expect(a != b)
        _ = b.next()
        #expect(a == b)
        #expect(a.next() == b.next())
    }
}
