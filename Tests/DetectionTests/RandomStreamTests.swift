import Detection
import EdgeCore
import Testing

/// The random streams Detection and its tests draw from, pinned to their values from before
/// SplitMix64 moved to EdgeCore: the shipped meta-initialization and every seeded test depend on them.
@Suite struct RandomStreamTests {
    @Test("SeededGenerator's xoshiro256** state, seeded through SplitMix64, is unchanged")
    func seededGeneratorFirstValues() {
        var random = SeededGenerator(seed: 42)
        #expect((0..<4).map { _ in random.next() } == [0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E, 0xAE17_5332_39E4_99A1, 0xECB8_AD47_03B3_60A1])
    }

    @Test("test-data noise in [-1, 1) is unchanged")
    func signedUnitFloatFirstValues() {
        var random = SplitMix64(seed: 11)
        let values = (0..<4).map { _ in random.signedUnitFloat().bitPattern }
        #expect(values == [0xBEBC_2A70, 0xBEF3_5690, 0x3E8D_5AF8, 0x3C17_3100])
    }
}
