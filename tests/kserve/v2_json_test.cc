// The v2 JSON codec: what KServe's and Triton's clients send decodes into
// tensors with every datatype checked; responses read back as sent.
#include "kserve/v2_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "status_testing.h"

namespace cairn::kserve {
namespace {

using ::cairn::testing::StatusIs;
using serving::DataType;
using ::testing::HasSubstr;

TEST(V2JsonTest, NestedAndFlatDataDecodeAlike) {
  ASSERT_OK_AND_ASSIGN(InferRequest nested, ParseInferRequest(R"({"id": "7", "inputs": [
      {"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [[1, 2.5], [NaN, -4]]}]})"));
  ASSERT_OK_AND_ASSIGN(InferRequest flat, ParseInferRequest(R"({"inputs": [
      {"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [1, 2.5, NaN, -4]}]})"));
  EXPECT_EQ(nested.id, "7");
  EXPECT_FALSE(flat.id.has_value());
  ASSERT_EQ(nested.inputs.size(), 1u);
  EXPECT_EQ(nested.inputs[0].data, flat.inputs[0].data);
  EXPECT_EQ(nested.inputs[0].Size(), 4u);
  EXPECT_EQ(nested.inputs[0].FloatAt(1), 2.5f);
  EXPECT_TRUE(std::isnan(nested.inputs[0].FloatAt(2)));
}

TEST(V2JsonTest, EveryDatatypeWithItsRange) {
  struct Case {
    const char* datatype;
    const char* data;
    bool ok;
  };
  const Case cases[] = {
      {"BOOL", "[true, false]", true},
      {"BOOL", "[1, 0]", false},
      {"UINT8", "[0, 255]", true},
      {"UINT8", "[256, 0]", false},
      {"INT8", "[-128, 127]", true},
      {"INT8", "[-129, 0]", false},
      {"UINT16", "[65535, 0]", true},
      {"INT16", "[-32769, 0]", false},
      {"UINT32", "[4294967295, 0]", true},
      {"INT32", "[2147483648, 0]", false},
      {"UINT64", "[18446744073709551615, 0]", true},
      {"INT64", "[-9223372036854775808, 9223372036854775807]", true},
      {"INT64", "[1.5, 0]", false},
      {"FP64", "[1e300, -2]", true},
      {"FP32", "[1, \"2\"]", false},
      {"BYTES", "[\"a\", \"\"]", true},
      {"BYTES", "[1, 2]", false},
      {"FP16", "[1.0, 2.0]", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.datatype) + " " + c.data);
    std::string body = std::string(R"({"inputs": [{"name": "t", "shape": [2], "datatype": ")") +
                       c.datatype + R"(", "data": )" + c.data + "}]}";
    auto parsed = ParseInferRequest(body);
    EXPECT_EQ(parsed.ok(), c.ok) << (parsed.ok() ? "" : parsed.status().message());
    if (!c.ok) {
      EXPECT_THAT(parsed.status().message(), HasSubstr("input 't'"));
    }
  }
  ASSERT_OK_AND_ASSIGN(
      InferRequest u32,
      ParseInferRequest(
          R"({"inputs": [{"name": "t", "shape": [1], "datatype": "UINT32", "data": [4294967295]}]})"));
  EXPECT_EQ(
      WriteInferResponse("m", "", std::nullopt, u32.inputs),
      R"({"model_name":"m","outputs":[{"name":"t","datatype":"UINT32","shape":[1],"data":[4294967295]}]})");
}

TEST(V2JsonTest, BadRequestsNameTheField) {
  EXPECT_THAT(ParseInferRequest("{"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("Malformed JSON")));
  EXPECT_THAT(ParseInferRequest("[]"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("'inputs'")));
  EXPECT_THAT(ParseInferRequest(R"({"inputs": [{"shape": [1], "datatype": "FP32", "data": [1]}]})"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("inputs[0].name")));
  EXPECT_THAT(ParseInferRequest(R"({"inputs": [{"name": "x", "datatype": "FP32", "data": [1]}]})"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("input 'x': shape is required")));
  EXPECT_THAT(ParseInferRequest(
                  R"({"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]}]})"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr(">= 0")));
  EXPECT_THAT(
      ParseInferRequest(
          R"({"inputs": [{"name": "x", "shape": [3], "datatype": "FP32", "data": [1, 2]}]})"),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("holds 3 elements, data has 2")));
  // Nested deeper than any shape may be.
  std::string deep = R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": )" +
                     std::string(40, '[') + "1" + std::string(40, ']') + "}]}";
  EXPECT_THAT(ParseInferRequest(deep),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("nested deeper")));
  // Dimensions whose product overflows.
  EXPECT_THAT(
      ParseInferRequest(R"({"inputs": [{"name": "x", "shape": [4294967296, 4294967296, 4294967296],
                                   "datatype": "FP32", "data": [1]}]})"),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("too large")));
  EXPECT_THAT(ParseInferRequest(
                  R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}],
                                   "outputs": [{"nom": "y"}]})"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("outputs[0].name")));
}

TEST(V2JsonTest, ResponseFloatsReadBackExactly) {
  std::vector<float> values = {0.1f,
                               1.0f / 3.0f,
                               16777217.0f,
                               -0.0f,
                               std::numeric_limits<float>::denorm_min(),
                               std::nanf(""),
                               std::numeric_limits<float>::infinity()};
  std::string body = WriteInferResponse("m", "3", std::string("id-\"1\""),
                                        {serving::Fp32Tensor("y", {7}, values)});
  EXPECT_THAT(body, HasSubstr(R"("model_version":"3","id":"id-\"1\"")"));
  EXPECT_THAT(body, HasSubstr("[0.1,0.33333334,16777216,-0.0,1e-45,NaN,Infinity]"));
  // Decoded again (as a client reads it), each float is the one written.
  std::string request = R"({"inputs": [{"name": "y", "shape": [5], "datatype": "FP32", "data": )"
                        "[0.1,0.33333334,16777216,-0.0,1e-45]}]}";
  ASSERT_OK_AND_ASSIGN(InferRequest back, ParseInferRequest(request));
  for (size_t i = 0; i < 5; ++i) {
    float f = back.inputs[0].FloatAt(i);
    EXPECT_EQ(std::memcmp(&f, &values[i], 4), 0) << i;
  }
}

// The binary tensor extension, as tritonclient sends it: JSON, then each
// input's bytes in order.
TEST(V2JsonTest, AnotherServersAnswerReadsBackAsTheOutputsWritten) {
  std::vector<serving::Tensor> outputs = {serving::Fp32Tensor("predict", {2}, {0.25f, -1.5f})};
  auto read = ParseInferResponse(WriteInferResponse("churn", "3", std::nullopt, outputs));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->model_version, "3");
  ASSERT_EQ(read->outputs.size(), 1u);
  EXPECT_EQ(read->outputs[0].name, "predict");
  EXPECT_EQ(read->outputs[0].data, outputs[0].data);
  BinaryResponse binary = WriteBinaryInferResponse("churn", "", std::nullopt, outputs, {true});
  read = ParseInferResponse(binary.body, binary.json_length);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->outputs[0].data, outputs[0].data);
  EXPECT_THAT(
      ParseInferResponse(R"({"outputs":[{"name":"y","datatype":"FP32","shape":[2],"data":[1]}]})"),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("output 'y': shape [2] holds 2")));
  EXPECT_THAT(
      ParseInferResponse(R"({"outputs":[{"name":"y","shape":[1],"data":[1]}]})"),
      StatusIs(StatusCode::kInvalidArgument, HasSubstr("output 'y': datatype is required")));
  EXPECT_THAT(ParseInferResponse(R"({"error":"x"})"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("outputs: a list")));
}

TEST(V2JsonTest, BinaryTensorExtensionBothWays) {
  std::string json = R"({"inputs": [
      {"name": "x", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}},
      {"name": "s", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": 11}},
      {"name": "h", "shape": [1], "datatype": "FP16", "parameters": {"binary_data_size": 2}},
      {"name": "j", "shape": [1], "datatype": "INT32", "data": [7]}],
    "outputs": [{"name": "x", "parameters": {"binary_data": true}}]})";
  std::string binary;
  const float xs[] = {1.5f, -2.0f};
  binary.append(reinterpret_cast<const char*>(xs), 8);
  binary += std::string("\x02\x00\x00\x00", 4) + "ab" + std::string("\x01\x00\x00\x00", 4) + "c";
  binary += std::string("\x00\x3c", 2);  // FP16 1.0
  ASSERT_OK_AND_ASSIGN(InferRequest r, ParseInferRequest(json + binary, json.size()));
  ASSERT_EQ(r.inputs.size(), 4u);
  EXPECT_EQ(r.inputs[0].FloatAt(1), -2.0f);
  EXPECT_EQ(r.inputs[1].bytes, (std::vector<std::string>{"ab", "c"}));
  EXPECT_EQ(r.inputs[2].FloatAt(0), 1.0f);
  EXPECT_EQ(r.inputs[3].FloatAt(0), 7.0f);
  ASSERT_EQ(r.outputs.size(), 1u);
  EXPECT_TRUE(r.outputs[0].binary);

  // Broken binary sections are refused naming the input.
  EXPECT_THAT(ParseInferRequest(json + binary.substr(0, 10), json.size()),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("input 's'")));
  EXPECT_THAT(ParseInferRequest(json + binary + "extra", json.size()),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("add up to")));
  EXPECT_THAT(ParseInferRequest(json + binary, json.size() + 1000),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("more than the body")));
  EXPECT_THAT(ParseInferRequest(json + binary), StatusIs(StatusCode::kInvalidArgument));
  std::string bad_bytes = std::string("\xff\xff\xff\x7f", 4) + "x";
  std::string one = R"({"inputs": [{"name": "s", "shape": [1], "datatype": "BYTES",
                                     "parameters": {"binary_data_size": 5}}]})";
  EXPECT_THAT(ParseInferRequest(one + bad_bytes, one.size()),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("exceeds")));

  BinaryResponse out = WriteBinaryInferResponse(
      "m", "", std::nullopt, {serving::Fp32Tensor("y", {2}, {0.25f, 3.0f}), r.inputs[1]},
      {true, true});
  ASSERT_GT(out.json_length, 0u);
  std::string header = out.body.substr(0, out.json_length);
  EXPECT_THAT(
      header,
      HasSubstr(R"("name":"y","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8})"));
  EXPECT_THAT(header, HasSubstr(R"("binary_data_size":11)"));
  float back[2];
  std::memcpy(back, out.body.data() + out.json_length, 8);
  EXPECT_EQ(back[0], 0.25f);
  EXPECT_EQ(back[1], 3.0f);
  EXPECT_EQ(out.body.substr(out.json_length + 8), binary.substr(8, 11));
}

}  // namespace
}  // namespace cairn::kserve
