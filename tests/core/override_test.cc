// --set overrides (core/config.h ApplyOverride) on an experiment config.
#include <gtest/gtest.h>

#include "config.h"
#include "error.h"
#include "r1lab.pb.h"

namespace r1lab {
namespace {

ExperimentConfig TwoArms() {
  ExperimentConfig e;
  ParseConfigText(R"(name: "x" seeds: [1, 2]
      arms { name: "grpo" grpo { group_size: 4 optim { lr: 1e-4 } } }
      arms { name: "prm" prm_rl { reward_model { kind: PRM } } })",
                  "<test>", &e);
  return e;
}

TEST(Override, ScalarsEnumsListsAndMessagesByPath) {
  ExperimentConfig e = TwoArms();
  ApplyOverride("arms[grpo].grpo.optim.lr=3e-4", "<test>", &e);
  ApplyOverride("arms[1].prm_rl.reward_model.kind=ORM", "<test>", &e);
  ApplyOverride("seeds=[7]", "<test>", &e);
  ApplyOverride("eval.sampling={ temperature: 0.5 }", "<test>", &e);
  ApplyOverride("name=y", "<test>", &e);
  EXPECT_DOUBLE_EQ(e.arms(0).grpo().optim().lr(), 3e-4);
  EXPECT_EQ(e.arms(0).grpo().group_size(), 4) << "siblings are kept";
  EXPECT_EQ(e.arms(1).prm_rl().reward_model().kind(), ORM);
  ASSERT_EQ(e.seeds_size(), 1) << "a repeated field is replaced, not appended to";
  EXPECT_EQ(e.seeds(0), 7u);
  EXPECT_DOUBLE_EQ(e.eval().sampling().temperature(), 0.5);
  EXPECT_EQ(e.name(), "y");
  ApplyOverride("name=a\"b\\c", "<test>", &e);  // a bare string is quoted for the parser, escapes kept
  EXPECT_EQ(e.name(), "a\"b\\c");
}

// Each mistake names the path and what was expected.
TEST(Override, MistakesNameThePathAndTheChoices) {
  auto error = [](const std::string& set) {
    ExperimentConfig e = TwoArms();
    try {
      ApplyOverride(set, "exp.pbtxt", &e);
    } catch (const ConfigError& err) {
      return std::string(err.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error("arms[ppo].ppo.steps=3").find("no arms entry named 'ppo'; there are: grpo, prm"), std::string::npos);
  EXPECT_NE(error("arms[5].name=z").find("index 5 is out of range"), std::string::npos);
  EXPECT_NE(error("evl.eval_every=3").find("no field 'evl' in ExperimentConfig; expected one of:"), std::string::npos);
  EXPECT_NE(error("arms.name=z").find("is repeated"), std::string::npos);
  EXPECT_NE(error("seeds").find("is not path.to.field=value"), std::string::npos);
  EXPECT_NE(error("arms[1].prm_rl.reward_model.kind=NOPE").find("exp.pbtxt --set arms[1].prm_rl.reward_model.kind"),
            std::string::npos);
  EXPECT_NE(error("arms[0].grpo.group_size=many").find("exp.pbtxt --set"), std::string::npos);
  // A path into another strategy would switch the arm's strategy: refused.
  EXPECT_NE(error("arms[prm].grpo.kl_coef=0.01").find("'grpo' is not what strategy holds here ('prm_rl')"),
            std::string::npos)
      << error("arms[prm].grpo.kl_coef=0.01");
  EXPECT_EQ(error("arms[prm].prm_rl.grpo.kl_coef=0.01"), "no error");
  EXPECT_NE(error("model.d_model=64 n_layers: 7").find("also sets 'n_layers'; give one field per --set"),
            std::string::npos)
      << error("model.d_model=64 n_layers: 7");
}

}  // namespace
}  // namespace r1lab
